/**
 * The budget guarantee across processes (issue 17), scaled down for the suite: three gateway
 * processes (`gateway serve`) sharing Redis and one key store, 60 concurrent requests from one
 * virtual key whose budget holds 12 worst cases. The full size (500 requests, a budget of 100)
 * is a bench scenario (notes/benchmarks.md).
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { serveGateway } from "@llm-gateway/testing/GatewayProcess"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

// the gateway as `pnpm gateway` runs it: its bundle, built by the suite's global setup (test/bundleSetup.ts)
const CLI = resolve(import.meta.dirname, "../dist-bundle/cli.js")
const ADMIN = "gw-admin-multi-0123"
const INSTANCES = 3
const REQUESTS = 60
const FITS = 12

let upstream: FakeOpenAI
let dir: string
const servers: Array<{ child: ChildProcess; url: string }> = []

const serve = (configFile: string) => serveGateway(CLI, configFile, { cwd: dir })

beforeAll(async () => {
  // every upstream call outlasts the burst: no reservation settles before all 60 have asked, so
  // admission is decided by the reservations alone
  upstream = await startFakeOpenAI({ reply: "ok", latencyMs: 1500, apiKey: "sk-upstream" })
  dir = mkdtempSync(join(tmpdir(), "gateway-multi-"))
  const configFile = join(dir, "gateway.yaml")
  // worst case per request = max_tokens 100 × 0.01 USD/token = 1 USD (input is free)
  writeFileSync(configFile, `
server: { host: 127.0.0.1, port: 0, adminKeys: [${ADMIN}] }
providers:
  - name: openai
    type: openai
    baseUrl: ${upstream.baseUrl}
    apiKey: sk-upstream
    models: [{ id: gpt-4o-mini, inputCostPer1M: 0, outputCostPer1M: 10000 }]
routing: { fallbackOrder: [openai/gpt-4o-mini], maxRetries: 0, timeoutMs: 10000, attemptTimeoutMs: 8000 }
cache: { enabled: false }
conversations: { store: memory }
redis: { url: "${process.env.REDIS_URL}" }
database: { path: ${join(dir, "gateway.db")} }
ledger: { flushMs: 200 }
`)
  servers.push(...await Promise.all(Array.from({ length: INSTANCES }, () => serve(configFile))))
}, 60_000)

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill("SIGKILL")
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

const admin = async (url: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: await res.json() as Record<string, any> }
}

describe(`${INSTANCES} gateway processes sharing Redis`, () => {
  it(`${REQUESTS} concurrent requests at a budget of ${FITS} worst cases: exactly ${FITS} admitted, the rest 429 budget_exceeded before any upstream call, spend ≤ budget`, async () => {
    const created = await admin(servers[0].url, "/admin/v1/keys", { name: "burst", budgetUsd: FITS + 0.5, budgetPeriod: "total" })
    expect(created.status).toBe(201)
    const before = upstream.requests().length
    const results = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => {
      const res = await fetch(`${servers[i % INSTANCES].url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${created.json.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: `request ${i}` }] })
      })
      const body = await res.json() as { error?: { code?: string } }
      return { status: res.status, code: body.error?.code, remaining: res.headers.get("x-llm-budget-remaining-usd") }
    }))
    const admitted = results.filter((r) => r.status === 200)
    const refused = results.filter((r) => r.status === 429)
    expect(admitted.length).toBe(FITS)
    expect(refused.length).toBe(REQUESTS - FITS)
    for (const r of refused) {
      expect(r.code).toBe("budget_exceeded")
      expect(Number(r.remaining)).toBeLessThan(1)
    }
    // refused before any upstream call
    expect(upstream.requests().length - before).toBe(FITS)

    // the ledger of all three, through any one: the settled spend; every request is a row, the
    // refused ones with no model and no cost
    let usage = await admin(servers[2].url, `/admin/v1/usage?key=${created.json.id}`)
    for (let i = 0; i < 50 && usage.json.totals.requests < REQUESTS; i++) {
      await new Promise((r) => setTimeout(r, 100))
      usage = await admin(servers[2].url, `/admin/v1/usage?key=${created.json.id}`)
    }
    expect(usage.json.totals.requests).toBe(REQUESTS)
    expect(usage.json.rows.find((r: { model: string }) => r.model === "gpt-4o-mini").requests).toBe(FITS)
    expect(usage.json.totals.costUsd).toBeGreaterThan(0)
    expect(usage.json.totals.costUsd).toBeLessThanOrEqual(FITS + 0.5)
  }, 30_000)
})
