/**
 * `npx -y pnpm@10 --filter @llm-gateway/bench reliability`
 *
 * The reliability scenarios (notes/operations.md "Memory bounds") at full size (the suite runs them scaled down):
 * - heap: 20,000 requests with distinct 4 KB `x-llm-task` values vs 20,000 with one value,
 *   live heap after a full GC (bound: distinct values add < 20 MB);
 * - rate limit: 60 concurrent requests against `rpm: 16` — how fast the over-limit ones get
 *   their 429 (bound: at once, not after a queue);
 * - Redis outage: 20 s of load with the shared breaker store killed, a 100 %-failing model
 *   first in line — how many calls reach it and how many log lines are written (bounds:
 *   about `failureThreshold` calls, < 200 lines).
 * The gateway runs in this process (real server, real SDKs) against loopback fakes.
 * Prints a markdown table; notes/benchmarks.md keeps the figures with this command.
 */
import { type GatewayConfigInput } from "@llm-gateway/core/config/LLMConfig"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { startPrivateRedis } from "@llm-gateway/testing/services/PrivateRedis"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { type InProcess, startInProcess } from "../governance/inprocess.ts"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
const liveHeap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const MB = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
const log = (line: string) => process.stderr.write(`${line}\n`)

// The usage ledger writes a row per request: into a throw-away store, not the working directory.
const dataDir = mkdtempSync(join(tmpdir(), "llm-gateway-reliability-"))
let stores = 0

const startGateway = (input: GatewayConfigInput): Promise<InProcess> =>
  startInProcess({ ...input, database: { path: join(dataDir, `gateway-${stores++}.db`) } } as GatewayConfigInput)

const chat = async (url: string, headers: Record<string, string> = {}) => {
  const started = performance.now()
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: "What is the CPU usage?" }] })
  })
  await res.arrayBuffer()
  return { status: res.status, ms: performance.now() - started }
}

const inBatches = async (count: number, width: number, f: (i: number) => Promise<unknown>) => {
  for (let i = 0; i < count; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => f(i + j)))
  }
}

const provider = (name: string, fake: FakeOpenAI, extra: Record<string, unknown> = {}) => ({
  name,
  type: "openai-compatible",
  baseUrl: fake.baseUrl,
  models: [{ id: "m", inputCostPer1M: 0.15, outputCostPer1M: 0.6 }],
  ...extra
})

const heapScenario = async (rows: Array<[string, string, string]>) => {
  const fake = await startFakeOpenAI({ reply: "ok" })
  const gw = await startGateway({
    providers: [provider("p", fake)],
    routing: { fallbackOrder: ["p/m"], maxRetries: 0 },
    cache: { enabled: false },
    conversations: { store: "memory" }
  })
  const n = 20_000
  const task = (i: number) => `task-${i}-`.padEnd(4096, "x")
  await inBatches(2000, 25, (i) => chat(gw.url, { "x-llm-task": task(i) }))
  fake.server.requests.length = 0
  let before = liveHeap()
  await inBatches(n, 25, (i) => chat(gw.url, { "x-llm-task": task(1_000_000 + i) }))
  fake.server.requests.length = 0
  const distinct = liveHeap() - before
  before = liveHeap()
  await inBatches(n, 25, () => chat(gw.url, { "x-llm-task": task(7) }))
  fake.server.requests.length = 0
  const same = liveHeap() - before
  rows.push([`heap: ${n} requests, distinct 4 KB x-llm-task`, `${MB(distinct)} MB`, "< 20 MB"])
  rows.push([`heap: ${n} requests, one x-llm-task`, `${MB(same)} MB`, "~0"])
  await gw.close()
  await fake.close()
}

const rateLimitScenario = async (rows: Array<[string, string, string]>) => {
  const fake = await startFakeOpenAI({ reply: "ok" })
  const gw = await startGateway({
    providers: [provider("p", fake, { rpm: 16 })],
    routing: { fallbackOrder: ["p/m"], maxRetries: 0 },
    cache: { enabled: false },
    conversations: { store: "memory" }
  })
  const results = await Promise.all(Array.from({ length: 60 }, () => chat(gw.url)))
  const refused = results.filter((r) => r.status === 429).map((r) => r.ms).sort((a, b) => a - b)
  const ok = results.filter((r) => r.status === 200).length
  const p = (q: number) => refused[Math.min(refused.length - 1, Math.floor(q * refused.length))] ?? NaN
  rows.push(["rate limit: 60 concurrent at rpm 16 — answered / 429", `${ok} / ${refused.length}`, "16 / 44"])
  rows.push(["rate limit: 429 latency p50 / max", `${p(0.5).toFixed(0)} / ${p(1).toFixed(0)} ms`, "at once (was p50 13.3 s)"])
  await gw.close()
  await fake.close()
}

const outageScenario = async (rows: Array<[string, string, string]>) => {
  const redis = await startPrivateRedis()
  const bad = await startFakeOpenAI({ reply: "bad" })
  const good = await startFakeOpenAI({ reply: "good" })
  bad.enqueueFault({ kind: "status", status: 500 }, 1_000_000)
  const threshold = 5
  const gw = await startGateway({
    providers: [provider("bad", bad), provider("good", good)],
    routing: {
      strategy: "performance",
      fallbackOrder: ["bad/m", "good/m"],
      maxRetries: 0,
      circuitBreaker: { failureThreshold: threshold, successThreshold: 1, openMs: 60_000 }
    },
    redis: { url: redis.url },
    cache: { enabled: false },
    conversations: { store: "memory" }
  })
  await chat(gw.url)
  await redis.kill()
  const badBefore = bad.server.requests.length
  const linesBefore = gw.lines.length
  const until = Date.now() + 20_000
  let sent = 0
  let answered = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() < until) {
      const r = await chat(gw.url)
      sent++
      if (r.status === 200) answered++
    }
  }))
  const badCalls = bad.server.requests.length - badBefore
  const lines = gw.lines.length - linesBefore
  rows.push(["Redis outage 20 s: requests answered / sent", `${answered} / ${sent}`, "all"])
  rows.push(["Redis outage 20 s: calls to the failing model", String(badCalls), `~${threshold} (+ in flight)`])
  rows.push(["Redis outage 20 s: log lines", String(lines), "< 200"])
  await gw.close()
  await Promise.all([bad.close(), good.close(), redis.stop()])
}

const main = async () => {
  const rows: Array<[string, string, string]> = []
  log("heap scenario (2 × 20,000 requests)…")
  await heapScenario(rows)
  log("rate-limit scenario…")
  await rateLimitScenario(rows)
  log("Redis outage scenario (20 s)…")
  await outageScenario(rows)
  process.stdout.write(`| scenario | measured | bound |\n|---|---|---|\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}\n`)
}

main().then(() => {
  rmSync(dataDir, { recursive: true, force: true })
  process.exit(0)
}, (e) => {
  console.error(e)
  process.exit(1)
})
