/**
 * The load generator's work. Saturation uses autocannon (closed loop, fixed connections); its
 * own histogram has 1 ms resolution, so latencies are taken from its `response` events (float ms).
 *
 * The fixed-rate scenario does not use autocannon: its rate limit hands each connection a
 * per-second quota that it spends in a burst at every second tick (lib/httpClient.js), so "200
 * requests/s" arrives as one burst of 200 a second and measures queueing, not added latency.
 * `paced` sends one request every 5 ms on undici's Pool (open loop) instead. Streams are timed on
 * undici too (autocannon cannot see the first chunk).
 */
import { performance } from "node:perf_hooks"
import autocannon from "autocannon"
import { Pool } from "undici"
import { Samples, summarize } from "../stats.ts"
import { busyBetween, cpuTimes } from "./cpu.ts"
import type { HoldJob, HoldResult, PacedJob, PacedResult, SaturateJob, SaturateResult, StreamsJob, StreamsResult } from "./jobs.ts"

const CONTENT = /"content":"[^"]/
const MODEL = /"model":"([^"]*)"/

let seq = 0

export const saturate = (job: SaturateJob): Promise<SaturateResult> =>
  new Promise((resolve, reject) => {
    const samples = new Samples()
    let ok = 0
    let non2xx = 0
    let errors = 0
    const t0 = performance.now()
    const from = t0 + job.warmupMs
    const to = from + job.durationMs
    let cpuFrom = cpuTimes()
    let cpuTo = cpuFrom
    setTimeout(() => (cpuFrom = cpuTimes()), job.warmupMs)
    setTimeout(() => (cpuTo = cpuTimes()), job.warmupMs + job.durationMs)
    const instance = autocannon({
      url: `${job.target.origin}${job.target.path}`,
      method: "POST",
      headers: job.target.headers,
      connections: job.connections,
      // a little slack so the window closes before autocannon stops
      duration: (job.warmupMs + job.durationMs + 100) / 1000,
      // Not autocannon's `idReplacement`: it sizes Content-Length for a 27-byte id, but hyperid's ids
      // grow with their counter, so most requests are sent with a wrong length and hang.
      requests: job.requests.map((r) => ({
        method: "POST",
        path: job.target.path,
        body: r.body,
        ...(r.body.includes("[<id>]") ? { setupRequest: (req: { body: string }) => ({ ...req, body: r.body.replaceAll("[<id>]", `${process.pid}-${++seq}`) }) } : {})
      })),
      timeout: 10
    }, (error: Error | null) => {
      if (error !== null && error !== undefined) return reject(error)
      resolve({ rps: ok / (job.durationMs / 1000), latency: summarize(samples.values()), ok, non2xx, errors, cpu: busyBetween(cpuFrom, cpuTo) })
    })
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      const now = performance.now()
      if (now < from || now > to) return
      if (status >= 200 && status < 300) {
        ok++
        samples.push(ms)
      } else non2xx++
    })
    instance.on("reqError", () => {
      const now = performance.now()
      if (now >= from && now <= to) errors++
    })
  })

const post = (pool: Pool, job: { target: PacedJob["target"]; body: string }) =>
  pool.request({ method: "POST", path: job.target.path, headers: { ...job.target.headers, "content-type": "application/json" }, body: job.body })

export const paced = async (job: PacedJob): Promise<PacedResult> => {
  const pool = new Pool(job.target.origin, { connections: 512, pipelining: 1, keepAliveTimeout: 60_000 })
  const samples = new Samples()
  let ok = 0
  let failed = 0
  let sentInWindow = 0
  const interval = 1000 / job.rate
  const t0 = performance.now()
  const from = t0 + job.warmupMs
  const end = from + job.durationMs
  const inflight = new Set<Promise<void>>()
  let cpuFrom = cpuTimes()
  let cpuTo = cpuFrom
  setTimeout(() => (cpuFrom = cpuTimes()), job.warmupMs)
  setTimeout(() => (cpuTo = cpuTimes()), job.warmupMs + job.durationMs)

  const fire = () => {
    const start = performance.now()
    const counted = start >= from
    if (counted) sentInWindow++
    const p = post(pool, job).then(async (res) => {
      await res.body.dump({ limit: Number.MAX_SAFE_INTEGER })
      const ms = performance.now() - start
      if (!counted) return
      if (res.statusCode === 200) {
        ok++
        samples.push(ms)
      } else failed++
    }, () => {
      if (counted) failed++
    })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }

  await new Promise<void>((resolve) => {
    let i = 0
    const tick = () => {
      const now = performance.now()
      // Catch up on every slot that is due (a late timer must not lower the rate).
      while (t0 + i * interval <= now && t0 + i * interval < end) {
        fire()
        i++
      }
      if (t0 + i * interval >= end) return resolve()
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()))
    }
    tick()
  })
  await Promise.all([...inflight])
  await pool.close()
  return { latency: summarize(samples.values()), ok, failed, achievedRps: sentInWindow / (job.durationMs / 1000), cpu: busyBetween(cpuFrom, cpuTo) }
}

/** One streamed request: ms to the first content chunk and to the end, or an error text. */
const oneStream = async (pool: Pool, job: { target: StreamsJob["target"]; body: string }, onFirst?: () => void) => {
  const start = performance.now()
  const res = await post(pool, job)
  let ttft = Number.NaN
  let model = "?"
  let head = ""
  let tail = ""
  for await (const chunk of res.body) {
    const text = (chunk as Buffer).toString("utf8")
    if (Number.isNaN(ttft)) {
      head += text
      if (CONTENT.test(head)) {
        ttft = performance.now() - start
        model = MODEL.exec(head)?.[1] ?? "?"
        head = ""
        onFirst?.()
      }
    }
    tail = (tail + text).slice(-64)
  }
  const total = performance.now() - start
  if (res.statusCode !== 200) return { error: `HTTP ${res.statusCode}: ${tail}` }
  if (!tail.includes("[DONE]")) return { error: "stream ended without [DONE]" }
  if (Number.isNaN(ttft)) return { error: "no content chunk" }
  return { ttft, total, model }
}

export const streams = async (job: StreamsJob): Promise<StreamsResult> => {
  const pool = new Pool(job.target.origin, { connections: job.concurrency, pipelining: 1, keepAliveTimeout: 60_000 })
  const ttft = new Samples()
  const total = new Samples()
  const models: Record<string, number> = {}
  let ok = 0
  let failed = 0
  const t0 = performance.now()
  const from = t0 + job.warmupMs
  const end = from + job.durationMs
  const worker = async () => {
    while (performance.now() < end) {
      const started = performance.now()
      const r = await oneStream(pool, job).catch((e: unknown) => ({ error: String(e) }))
      if (started < from) continue
      if ("error" in r) failed++
      else {
        ok++
        ttft.push(r.ttft)
        total.push(r.total)
        models[r.model] = (models[r.model] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, worker))
  await pool.close()
  return { ttft: summarize(ttft.values()), total: summarize(total.values()), ok, failed, models }
}

export const hold = async (job: HoldJob, onHolding: (firstChunk: number, allOpenMs: number) => void): Promise<HoldResult> => {
  const pool = new Pool(job.target.origin, { connections: job.count, pipelining: 1, keepAliveTimeout: 10_000 })
  const t0 = performance.now()
  let first = 0
  let completed = 0
  let failed = 0
  let firstError: string | undefined
  let reported = false
  let allOpenMs = Number.NaN
  const report = () => {
    if (reported) return
    reported = true
    onHolding(first, allOpenMs)
  }
  const timer = setTimeout(report, job.timeoutMs)
  const onFirst = () => {
    first++
    if (first === job.count) {
      allOpenMs = performance.now() - t0
      report()
    }
  }
  await Promise.all(Array.from({ length: job.count }, async () => {
    const r = await oneStream(pool, job, onFirst).catch((e: unknown) => ({ error: String(e) }))
    if ("error" in r) {
      failed++
      firstError ??= r.error
    } else completed++
  }))
  clearTimeout(timer)
  report()
  await pool.destroy()
  return { count: job.count, firstChunk: first, completed, failed, allOpenMs, firstError }
}
