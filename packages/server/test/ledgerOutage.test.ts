/**
 * The usage ledger through a store outage (issue 17), scaled down for the suite: the gateway's
 * store is the run's real Postgres behind a loopback TCP proxy the test cuts (every connection
 * dropped, new ones refused) for 3 s while ~50 req/s flow. Requests keep answering, no row is
 * dropped, and every row is in Postgres once it is back. The full size (30 s at 200 req/s) is a
 * bench scenario (notes/benchmarks.md).
 */
import { make as makeGatewayDatabase } from "@llm-gateway/storage/GatewayDatabase"
import { LedgerFeature } from "@llm-gateway/storage/UsageLedger"
import { type CuttableProxy, startCuttableProxy } from "@llm-gateway/testing/CuttableProxy"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { scopeOfKey } from "../src/internal/auth.ts"
import { type Gateway, startGateway } from "./support/harness.ts"

const KEY = `gw-outage-${Math.random().toString(36).slice(2)}`
const target = new URL(process.env.DATABASE_URL!)

let upstream: FakeOpenAI
let proxy: CuttableProxy
let gw: Gateway

beforeAll(async () => {
  upstream = await startFakeOpenAI({ reply: "ok", apiKey: "sk-upstream" })
  proxy = await startCuttableProxy(target)
  gw = await startGateway({
    server: { apiKeys: [KEY] },
    providers: [{ name: "openai", type: "openai", baseUrl: `${upstream.url}/v1`, apiKey: "sk-upstream", models: [{ id: "gpt-4o-mini", inputCostPer1M: 1, outputCostPer1M: 1 }] }],
    routing: { fallbackOrder: ["openai/gpt-4o-mini"], maxRetries: 0 },
    cache: { enabled: false },
    conversations: { store: "memory" },
    database: { url: proxy.url },
    ledger: { flushMs: 200 }
  } as never)
})

afterAll(async () => {
  await gw?.close()
  proxy?.cut()
  await proxy?.close()
  await upstream?.close()
})

/** Rows of this run's key in Postgres, read directly (not through the proxy). */
const storedRows = () =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const db = yield* makeGatewayDatabase({ url: Redacted.make(process.env.DATABASE_URL!) })
    const sql = yield* Effect.orDie(db.open(LedgerFeature))
    const rows = yield* sql<{ n: number | string }>`SELECT count(*) AS n FROM gateway_usage WHERE scope = ${scopeOfKey(KEY)}`
    return Number(rows[0].n)
  }).pipe(Effect.orDie)))

describe("the usage ledger while its Postgres is unreachable", () => {
  it("requests keep answering at ~50 req/s through a 3 s outage; 0 rows dropped; every row is written once the store is back", async () => {
    const statuses: Array<Promise<number>> = []
    const fire = (ms: number) =>
      new Promise<void>((done) => {
        const timer = setInterval(() => {
          statuses.push(fetch(`${gw.baseURL}/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
            body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
          }).then((r) => r.status))
        }, 20)
        setTimeout(() => (clearInterval(timer), done()), ms)
      })
    await fire(1000) // the store opens and takes rows
    proxy.cut()
    await fire(3000)
    const buffered = (await Promise.all(statuses)).length
    proxy.restore()
    await fire(1000)
    const codes = await Promise.all(statuses)
    expect(codes.length).toBeGreaterThan(150)
    expect(codes.every((c) => c === 200)).toBe(true)
    expect(buffered).toBeGreaterThan(100)

    const deadline = Date.now() + 10_000
    let stored = await storedRows()
    while (stored < codes.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      stored = await storedRows()
    }
    expect(stored).toBe(codes.length)
    expect(gw.logs.some((l) => l.includes("usage ledger: store unavailable"))).toBe(true)
    expect(gw.logs.some((l) => l.includes("usage ledger: store back"))).toBe(true)
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    expect(metrics).toMatch(/^llm_gateway_ledger_dropped_rows_total(\{[^}]*\})? 0$/m)
  }, 30_000)
})
