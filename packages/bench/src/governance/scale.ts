/**
 * The full-size multi-process budget run and the ledger outage (packages/server/test's
 * multiInstance and ledgerOutage tests at the size).
 */
import { rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { startCuttableProxy } from "@llm-gateway/testing/CuttableProxy"
import { serveGateway } from "@llm-gateway/testing/GatewayProcess"
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { gatewayScript } from "../Competitors.ts"
import { psql, startInProcess, tempDir } from "./inprocess.ts"

type Out = (line: string) => void

// the gateway as `pnpm start` runs it (its bundle, built when stale)
const CLI = gatewayScript(resolve(import.meta.dirname, "../../../.."))
const ADMIN = "bench-admin-key-0123456789"

const serve = (configFile: string, cwd: string) => serveGateway(CLI, configFile, { cwd, timeoutMs: 60_000 })

/** 500 concurrent requests over 3 processes sharing Redis; the budget fits 100 worst cases. */
export const budgetScenario = async (report: Out, log: Out, requests = 500, fits = 100, instances = 3) => {
  const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
  const upstream = await startFakeOpenAI({ reply: "ok", latencyMs: 3000 })
  const dir = tempDir()
  const configFile = join(dir, "gateway.yaml")
  writeFileSync(configFile, `
server: { host: 127.0.0.1, port: 0, adminKeys: [${ADMIN}] }
providers:
  - { name: openai, type: openai, baseUrl: ${upstream.baseUrl}, apiKey: sk-x, models: [{ id: gpt-4o-mini, inputCostPer1M: 0, outputCostPer1M: 10000 }] }
routing: { fallbackOrder: [openai/gpt-4o-mini], maxRetries: 0, timeoutMs: 20000, attemptTimeoutMs: 15000 }
cache: { enabled: false }
conversations: { store: memory }
redis: { url: "${redis}" }
database: { path: ${join(dir, "gateway.db")} }
`)
  const servers = await Promise.all(Array.from({ length: instances }, () => serve(configFile, dir)))
  try {
    const created = await fetch(`${servers[0].url}/admin/v1/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "burst", budgetUsd: fits + 0.5, budgetPeriod: "total" })
    }).then((r) => r.json() as Promise<{ id: string; key: string }>)
    const before = upstream.requests().length
    const t0 = performance.now()
    const statuses = await Promise.all(Array.from({ length: requests }, (_, i) =>
      fetch(`${servers[i % instances].url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${created.key}`, "content-type": "application/json" },
        // worst case 1 USD each: max_tokens 100 × 0.01 USD
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: `r${i}` }] })
      }).then(async (r) => (await r.arrayBuffer(), r.status))))
    const ms = performance.now() - t0
    const admitted = statuses.filter((s) => s === 200).length
    const refused = statuses.filter((s) => s === 429).length
    await new Promise((r) => setTimeout(r, 2000)) // the ledgers flush
    const usage = await fetch(`${servers[1].url}/admin/v1/usage?key=${created.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })
      .then((r) => r.json() as Promise<{ totals: { requests: number; costUsd: number } }>)
    log(`budget: ${admitted} admitted, ${refused} refused, upstream saw ${upstream.requests().length - before}, in ${ms.toFixed(0)} ms`)
    report(`| budget | ${requests} concurrent requests over ${instances} gateway processes sharing Redis, budget fits ${fits}: admitted ${admitted}, 429 budget_exceeded ${refused}, upstream calls ${upstream.requests().length - before}, settled spend ${usage.totals.costUsd.toFixed(4)} USD of ${fits + 0.5} | target admitted = ${fits}, spend ≤ budget | ${ms.toFixed(0)} ms for the burst |`)
  } finally {
    for (const s of servers) s.child.kill("SIGKILL")
    await upstream.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `secondsDown` of Postgres outage at `rate` req/s (5 s before and after): rows dropped, rows stored. */
export const outageScenario = async (report: Out, log: Out, secondsDown = 30, rate = 200) => {
  const base = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres")
  const dbName = `bench_outage_${process.pid}`
  psql(base.toString(), `CREATE DATABASE ${dbName}`)
  const target = new URL(base)
  target.pathname = `/${dbName}`
  const proxy = await startCuttableProxy(target)
  const upstream = await startFakeOpenAI({ reply: "ok" })
  const gw = await startInProcess({
    server: { apiKeys: ["bench-outage-key-0123"] },
    providers: [{ name: "openai", type: "openai", baseUrl: upstream.baseUrl, apiKey: "sk-x", models: [{ id: "gpt-4o-mini", inputCostPer1M: 1, outputCostPer1M: 1 }] }],
    routing: { fallbackOrder: ["openai/gpt-4o-mini"], maxRetries: 0 },
    cache: { enabled: false },
    conversations: { store: "memory" },
    database: { url: proxy.url }
  })
  try {
    const statuses: Array<Promise<number>> = []
    const fire = (ms: number) =>
      new Promise<void>((done) => {
        // batches every 20 ms: timers cannot fire at 200 Hz reliably on a busy machine
        const per = Math.max(1, Math.round(rate / 50))
        const timer = setInterval(() => {
          for (let i = 0; i < per; i++) {
            statuses.push(fetch(`${gw.url}/v1/chat/completions`, {
              method: "POST",
              headers: { authorization: "Bearer bench-outage-key-0123", "content-type": "application/json" },
              body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
            }).then(async (r) => (await r.arrayBuffer(), r.status), () => 0))
          }
        }, 20)
        setTimeout(() => (clearInterval(timer), done()), ms)
      })
    await fire(5000)
    proxy.cut()
    log(`outage: store cut for ${secondsDown} s`)
    await fire(secondsDown * 1000)
    proxy.restore()
    await fire(5000)
    const codes = await Promise.all(statuses)
    const ok = codes.filter((c) => c === 200).length
    let stored = 0
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      stored = Number(psql(target.toString(), "SELECT count(*) FROM gateway_usage"))
      if (stored >= ok) break
      await new Promise((r) => setTimeout(r, 500))
    }
    for (const line of gw.lines.filter((l) => /ledger|database/i.test(l)).slice(0, 8)) log(`  log: ${line.slice(0, 300)}`)
    const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text())
    const dropped = /^llm_gateway_ledger_dropped_rows_total\S* (\d+)/m.exec(metrics)?.[1] ?? "absent"
    report(`| outage | ${secondsDown} s Postgres outage at ${rate} req/s offered (${codes.length} requests, ${ok} answered 200): rows stored after ${stored}, dropped ${dropped} | target 0 dropped, all stored | 5 s of load before and after |`)
  } finally {
    await gw.close()
    await upstream.close()
    proxy.cut()
    await proxy.close()
    psql(base.toString(), `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  }
}
