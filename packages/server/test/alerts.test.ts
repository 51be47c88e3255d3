/**
 * The ops routes on the real server, over the real OpenAI SDK against the loopback fake, and a
 * real Alertmanager (Debian's prometheus-alertmanager) routing alerts to the gateway with the
 * gateway key, the gateway forwarding them enriched to a downstream receiver.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Gateway, startGateway } from "./support/harness.ts"

const KEY = "gw-alerts-key"
const webhook = readFileSync(new URL("../../ops/test/fixtures/alertmanager-webhook.json", import.meta.url), "utf8")

/** The model's answer: critical for anything "Down", warning otherwise (the real SDK path carries it). */
const classify = (prompt: string) =>
  JSON.stringify({
    severity: /Down/.test(prompt) ? "critical" : "warning",
    category: "kubernetes",
    confidence: 0.82,
    reasoning: "scripted by the fake upstream",
    recommendations: ["kubectl describe pod"]
  })

interface Received {
  readonly alerts: ReadonlyArray<{ labels: Record<string, string>; annotations: Record<string, string>; status: string }>
}

let upstream: FakeOpenAI
let downstream: Server
const received: Array<Received> = []
let gw: Gateway
let dbPath: string

const post = (path: string, body: unknown, key: string | null = KEY, method = "POST") =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  upstream = await startFakeOpenAI({ reply: (req) => classify(JSON.stringify(req.messages)), apiKey: "sk-upstream" })
  downstream = createServer((req, res) => {
    let body = ""
    req.on("data", (c) => (body += c))
    req.on("end", () => {
      received.push(JSON.parse(body) as Received)
      res.writeHead(200).end("{}")
    })
  })
  await new Promise<void>((r) => downstream.listen(0, "127.0.0.1", r))
  const dir = mkdtempSync(join(tmpdir(), "gw-alerts-"))
  dbPath = join(dir, "gateway.db")
  gw = await startGateway({
    server: { apiKeys: [KEY] },
    providers: [{ name: "openai", type: "openai", baseUrl: `${upstream.url}/v1`, apiKey: "sk-upstream", models: [{ id: "gpt-4o-mini" }] }],
    database: { path: dbPath },
    alerts: { downstream: { url: `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/` }, llmEnabled: true, mode: "enriched" }
  } as never)
})

afterAll(async () => {
  await gw?.close()
  await upstream?.close()
  await new Promise((r) => downstream?.close(r))
})

describe("POST /api/v1/alerts/classify", () => {
  it("classifies Alertmanager's documented webhook payload through the model, in input order", async () => {
    const res = await post("/api/v1/alerts/classify", webhook)
    expect(res.status).toBe(200)
    const { results } = await res.json() as { results: Array<Record<string, unknown>> }
    expect(results.map((r) => r.fingerprint)).toEqual(["5c1ab4d6e1b2f3a0", "9e07f2c3aa41d8b5"])
    expect(results[0]).toMatchObject({ severity: "warning", category: "kubernetes", confidence: 0.82, source: "llm", model: "openai/gpt-4o-mini" })
    expect(Object.keys(results[0])).toEqual(["fingerprint", "severity", "category", "confidence", "reasoning", "recommendations", "source", "model", "tokens", "costUsd"])
    // the same alerts again: from the cache, no tokens spent
    const again = await (await post("/api/v1/alerts/classify", webhook)).json() as { results: Array<Record<string, unknown>> }
    expect(again.results.map((r) => r.source)).toEqual(["cache", "cache"])
  })

  it("one alert object is accepted too; without the gateway key it is a 401", async () => {
    const one = { labels: { alertname: "PostgresDown", severity: "critical" } }
    const res = await post("/api/v1/alerts/classify", one)
    expect(((await res.json()) as { results: Array<{ severity: string }> }).results[0].severity).toBe("critical")
    expect((await post("/api/v1/alerts/classify", one, null)).status).toBe(401)
    expect((await post("/api/v1/alerts/classify", { nope: 1 })).status).toBe(400)
  })
})

describe("/api/v1/alerts/mode", () => {
  it("reads and switches the mode; an unknown mode is a 400 naming the allowed values", async () => {
    const initial = await fetch(`${gw.url}/api/v1/alerts/mode`, { headers: { authorization: `Bearer ${KEY}` } })
    expect(await initial.json()).toEqual({ mode: "enriched" }) // alerts.mode of the config
    const bad = await post("/api/v1/alerts/mode", { mode: "loud" }, KEY, "PUT")
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("transparent, enriched, transparent_with_recommendations")
    expect((await post("/api/v1/alerts/mode", { mode: "transparent_with_recommendations" }, KEY, "PUT")).status).toBe(200)
    const now = await fetch(`${gw.url}/api/v1/alerts/mode`, { headers: { authorization: `Bearer ${KEY}` } })
    expect(await now.json()).toEqual({ mode: "transparent_with_recommendations" })
    await post("/api/v1/alerts/mode", { mode: "enriched" }, KEY, "PUT")
  })
})

describe("the default enrichment mode", () => {
  it("is transparent, as in the seeds: without alerts.mode the downstream gets the alerts untouched and no model is asked", async () => {
    const plain = await startGateway({
      server: { apiKeys: [KEY] },
      providers: [{ name: "openai", type: "openai", baseUrl: `${upstream.url}/v1`, apiKey: "sk-upstream", models: [{ id: "gpt-4o-mini" }] }],
      alerts: { downstream: { url: `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/` }, llmEnabled: true }
    } as never)
    try {
      const mode = await fetch(`${plain.url}/api/v1/alerts/mode`, { headers: { authorization: `Bearer ${KEY}` } })
      expect(await mode.json()).toEqual({ mode: "transparent" })
      const calls = upstream.requests().length
      const group = { version: "4", status: "firing", receiver: "gw", groupLabels: {}, alerts: [{ status: "firing", labels: { alertname: "TransparentDefault", severity: "info" }, annotations: { summary: "as sent" } }] }
      const res = await fetch(`${plain.url}/api/v1/alerts`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body: JSON.stringify(group) })
      expect(res.status).toBe(200)
      await until("the alert downstream", () => received.some((p) => p.alerts.some((a) => a.labels.alertname === "TransparentDefault")))
      const got = received.flatMap((p) => p.alerts).find((a) => a.labels.alertname === "TransparentDefault")!
      expect(got.labels).toEqual({ alertname: "TransparentDefault", severity: "info" })
      expect(got.annotations).toEqual({ summary: "as sent" })
      expect(upstream.requests().length).toBe(calls)
    } finally {
      await plain.close()
    }
  })
})

describe("wrong methods on the ops paths", () => {
  it("are a 405 carrying Allow (not a 404), and OPTIONS lists the methods", async () => {
    for (const [method, path, allow] of [
      ["GET", "/api/v1/alerts", "POST, OPTIONS"],
      ["PUT", "/api/v1/alerts/classify", "POST, OPTIONS"],
      ["POST", "/api/v1/alerts/mode", "GET, HEAD, PUT, OPTIONS"],
      ["DELETE", "/api/v1/alerts/mode", "GET, HEAD, PUT, OPTIONS"],
      ["GET", "/api/v1/ops/analyze", "POST, OPTIONS"],
      ["PUT", "/api/v1/ops/heal", "POST, OPTIONS"],
      ["GET", "/api/v1/ops/explain", "POST, OPTIONS"]
    ] as const) {
      const r = await post(path, method === "GET" ? undefined : "{}", KEY, method)
      expect([method, path, r.status, r.headers.get("allow")]).toEqual([method, path, 405, allow])
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed")
    }
    const options = await fetch(`${gw.url}/api/v1/alerts/mode`, { method: "OPTIONS" })
    expect([options.status, options.headers.get("allow")]).toEqual([204, "GET, HEAD, PUT, OPTIONS"])
  })
})

describe("a real Alertmanager", () => {
  it("routes alerts to the gateway with the gateway key; the downstream receives them enriched; no failed notification", async () => {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), "alertmanager-"))
    writeFileSync(join(dir, "alertmanager.yml"), [
      "route:",
      "  receiver: gateway",
      "  group_by: [alertname]",
      "  group_wait: 100ms",
      "  group_interval: 1s",
      "  repeat_interval: 1h",
      "receivers:",
      "  - name: gateway",
      "    webhook_configs:",
      `      - url: ${gw.url}/api/v1/alerts`,
      "        send_resolved: true",
      "        http_config:",
      "          authorization:",
      `            credentials: ${KEY}`
    ].join("\n"))
    const am: ChildProcess = spawn("prometheus-alertmanager", [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${dir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address="
    ], { stdio: "ignore" })
    try {
      const amUrl = `http://127.0.0.1:${port}`
      await until("alertmanager ready", () => fetch(`${amUrl}/-/ready`).then((r) => r.ok, () => false))
      const alerts = [
        { labels: { alertname: "NodeDown", instance: "worker-9", severity: "critical" }, annotations: { summary: "Node down" } },
        { labels: { alertname: "NodeDown", instance: "worker-7", severity: "critical" }, annotations: { summary: "Node down" } }
      ]
      const posted = await fetch(`${amUrl}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) })
      expect(posted.status).toBe(200)
      await until("enriched alerts downstream", () => received.flatMap((p) => p.alerts).filter((a) => a.labels.alertname === "NodeDown").length >= 2)
      const nodeDown = received.flatMap((p) => p.alerts).filter((a) => a.labels.alertname === "NodeDown")
      expect(nodeDown.map((a) => a.labels.instance).sort()).toEqual(["worker-7", "worker-9"])
      for (const a of nodeDown) {
        expect(a.labels).toMatchObject({ ai_severity: "critical", ai_category: "kubernetes", ai_confidence: "0.82" })
        expect(a.annotations.ai_reasoning).toBe("scripted by the fake upstream")
      }
      const metrics = await (await fetch(`${amUrl}/metrics`)).text()
      const failed = metrics.split("\n").filter((l) => l.startsWith("alertmanager_notifications_failed_total{") && l.includes("webhook"))
      expect(failed.length).toBeGreaterThan(0)
      for (const line of failed) expect(Number(line.split(" ").at(-1))).toBe(0)
      const sent = metrics.split("\n").find((l) => l.startsWith("alertmanager_notifications_total{") && l.includes("webhook"))
      expect(Number(sent?.split(" ").at(-1))).toBeGreaterThan(0)
    } finally {
      am.kill("SIGTERM")
    }
  }, 20_000)
})

describe("one store per process", () => {
  it("the alert outbox and the usage ledger share the server's one main-thread connection to gateway.db", async () => {
    // the outbox opens the store on an alert; the ledger writes a chat completion's row
    expect((await post("/api/v1/alerts", webhook)).status).toBe(200)
    expect((await post("/v1/chat/completions", { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })).status).toBe(200)
    const openHandles = () => readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === dbPath
      } catch {
        return false // closed meanwhile
      }
    }).length
    // probed from another process: a connection opened here would itself hold a handle
    const probe = `const d = new (require("node:sqlite").DatabaseSync)(${JSON.stringify(dbPath)}, { readOnly: true });
      process.stdout.write(String(d.prepare("SELECT count(*) AS n FROM gateway_usage").get().n)); d.close()`
    await until("the ledger's row written", () => Number(spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" }).stdout || 0) > 0)
    // a second SQLite connection on the main thread would block the event loop while it waits: one
    // there (outbox, keys, the ledger's migrations and reads), plus the ledger's writer thread's own
    // (its waits block only that thread: UsageLedger.ts)
    expect(openHandles()).toBe(2)
  })
})
