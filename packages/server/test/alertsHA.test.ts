/**
 * Alertmanager in HA sends every notification to each of its receivers' URLs, so two gateway
 * instances (`gateway serve` processes) sharing one store both receive the same group. The
 * downstream must get each alert once per status: the outbox's row key (fingerprint, startsAt,
 * status) dedupes across instances, and the lease keeps two instances from sending one row.
 * Run on both stores: one SQLite file, and Postgres (a schema of its own).
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { serveGateway } from "@llm-gateway/testing/GatewayProcess"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { stores } from "../../ops/test/stores.ts"

// the gateway as `pnpm gateway` runs it: its bundle, built by the suite's global setup (test/bundleSetup.ts)
const CLI = resolve(import.meta.dirname, "../dist-bundle/cli.js")
const KEY = "gw-alerts-ha-key"
const firing = readFileSync(new URL("../../ops/test/fixtures/alertmanager-webhook.json", import.meta.url), "utf8")
const resolvedGroup = (() => {
  const p = JSON.parse(firing) as { status: string; alerts: Array<Record<string, unknown>> }
  return JSON.stringify({ ...p, status: "resolved", alerts: p.alerts.map((a) => ({ ...a, status: "resolved", endsAt: "2025-12-02T11:00:00.000Z" })) })
})()

/** A group of one alert, sent to one instance only. */
const sentinel = (alertname: string) =>
  JSON.stringify({
    version: "4",
    status: "firing",
    receiver: "llm-gateway",
    groupLabels: { alertname },
    alerts: [{ status: "firing", labels: { alertname }, annotations: {}, startsAt: new Date().toISOString(), fingerprint: alertname }]
  })

interface Received {
  readonly alerts: ReadonlyArray<{ fingerprint: string; status: string; labels: Record<string, string> }>
}

let upstream: FakeOpenAI
let downstream: Server
const received: Array<Received> = []
let dir: string

beforeAll(async () => {
  upstream = await startFakeOpenAI({
    reply: JSON.stringify({ severity: "warning", category: "kubernetes", confidence: 0.9, reasoning: "scripted", recommendations: [] }),
    apiKey: "sk-upstream"
  })
  downstream = createServer((req, res) => {
    let body = ""
    req.on("data", (c) => (body += c))
    req.on("end", () => {
      received.push(JSON.parse(body) as Received)
      res.writeHead(200).end("{}")
    })
  })
  await new Promise<void>((r) => downstream.listen(0, "127.0.0.1", r))
  dir = mkdtempSync(join(tmpdir(), "gw-alerts-ha-"))
})

afterAll(async () => {
  await upstream?.close()
  await new Promise((r) => downstream?.close(r))
  rmSync(dir, { recursive: true, force: true })
})

const serve = (configFile: string) => serveGateway(CLI, configFile, { cwd: dir })

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const post = (url: string, body: string) =>
  fetch(`${url}/api/v1/alerts`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body })

describe.each(stores)("two gateway instances on one %s store, Alertmanager HA sending to both", (name, store) => {
  it("each alert reaches the downstream once per status", async () => {
    const scope = Effect.runSync(Scope.make())
    const servers: Array<{ child: ChildProcess; url: string }> = []
    try {
      const db = await Effect.runPromise(Scope.provide(store, scope))
      const configFile = join(dir, `${name}.yaml`)
      writeFileSync(configFile, JSON.stringify({
        server: { host: "127.0.0.1", port: 0, apiKeys: [KEY] },
        providers: [{ name: "openai", type: "openai", baseUrl: `${upstream.url}/v1`, apiKey: "sk-upstream", models: [{ id: "gpt-4o-mini" }] }],
        conversations: { store: "memory" },
        database: db.config,
        alerts: { llmEnabled: true, mode: "enriched", workers: 1, downstream: { url: `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/` } }
      }))
      received.length = 0
      servers.push(...await Promise.all([serve(configFile), serve(configFile)]))
      const [a, b] = servers.map((s) => s.url)

      // the group fires: both instances get it at once, then again (repeat_interval); later it resolves
      for (const body of [firing, firing, resolvedGroup]) {
        const answers = await Promise.all([post(a, body), post(b, body)])
        expect(answers.map((r) => r.status)).toEqual([200, 200])
      }
      // both instances have classified all three notifications (2 alerts each) and emptied the outbox
      // Each instance has one worker, so it handles its payloads in the order received: once a
      // last group sent only to it reaches the downstream, it has stored (or deduped) all the others.
      await Promise.all([post(a, sentinel("SentinelA")), post(b, sentinel("SentinelB"))])
      await until("both sentinels downstream", () => ["SentinelA", "SentinelB"].every((n) => received.some((p) => p.alerts.some((x) => x.labels.alertname === n))))
      await new Promise((r) => setTimeout(r, 300)) // a duplicate would be on its way by now

      const seen = received.flatMap((p) => p.alerts).filter((x) => !x.labels.alertname.startsWith("Sentinel"))
      expect(seen.map((x) => `${x.fingerprint}:${x.status}`).sort()).toEqual([
        "5c1ab4d6e1b2f3a0:firing",
        "5c1ab4d6e1b2f3a0:resolved",
        "9e07f2c3aa41d8b5:firing",
        "9e07f2c3aa41d8b5:resolved"
      ])
      for (const x of seen) expect(x.labels.ai_severity).toBe("warning")
    } finally {
      for (const s of servers) s.child.kill("SIGTERM")
      await Promise.all(servers.map((s) => s.child.exitCode === null ? new Promise((r) => s.child.once("exit", r)) : undefined))
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 30_000)
})
