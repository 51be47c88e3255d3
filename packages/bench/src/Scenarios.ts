/**
 * The scenarios, run against every available competitor interleaved (A B C … A B C …) so that
 * drift in the machine's speed hits every competitor alike; only ratios within a round count.
 */
import * as Path from "node:path"
import { chatBody, type Running, shapedBodies, type Shape } from "./Competitors.ts"
import type { InProcessResult } from "./inprocess/result.ts"
import type { Target } from "./loadgen/jobs.ts"
import type { Loadgen } from "./loadgen/Loadgen.ts"
import type { Plan, Results, SaturateTrial } from "./Plan.ts"
import { type Child, cpuShares, rssOf, spawnNode } from "./procs/Processes.ts"

const CHAT = "/v1/chat/completions"
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "–")

export type Log = (line: string) => void

const target = (r: Running): Target => ({ origin: r.origin, path: CHAT, headers: r.headers })

/** Runs `f` with the competitor in place (direct moves the upstream onto the SUT core). */
const around = async <A>(r: Running, f: () => Promise<A>): Promise<A> => {
  r.enter()
  try {
    return await f()
  } finally {
    r.leave()
  }
}

const push = <K extends string, A>(rec: Partial<Record<K, Array<A>>>, k: K, a: A) => {
  ;(rec[k] ??= []).push(a)
}

/**
 * JIT and connection warm-up for every competitor, discarded. Full runs warm for 3 s: with 0.8 s
 * the gateway's first round read 0.41 and 0.49× the raw proxy against 0.65–0.84 in the rounds
 * after (two runs); with 3 s, 0.53 in a round where the raw proxy read low too
 * (notes/benchmarks.md "Issue 19, fifth session"). A first round should not measure start-up.
 */
const shaped = (r: Running) => shapedBodies(r.model("bench-fast"))

export const warmUp = async (plan: Plan, running: ReadonlyArray<Running>, loadgen: Loadgen, log: Log) => {
  for (const r of running) {
    await around(r, () =>
      loadgen.run({
        kind: "saturate",
        target: target(r),
        // the gateway (and the JSON proxy, its floor there) also see the tool-call and multi-part shapes, so the `shapes` scenario's first
        // round measures their cost and not V8 compiling their code (text was compiled here)
        requests: [
          { body: chatBody(r.model("bench-fast"), false) },
          { body: chatBody(r.model("bench-fast"), true) },
          ...(r.id === "gateway" || r.id === "json" ? [{ body: shaped(r).tools }, { body: shaped(r).parts }] : [])
        ],
        connections: 16,
        warmupMs: 0,
        durationMs: plan.mode === "quick" ? 250 : 3_000
      }))
    log(`  warmed ${r.label}`)
  }
}

export interface Pids {
  readonly upstream: number
  readonly loadgen: number
}

export const runRounds = async (
  plan: Plan,
  running: ReadonlyArray<Running>,
  loadgen: Loadgen,
  pids: Pids,
  results: Results,
  log: Log,
  scenarios: ReadonlySet<string> = new Set(["saturate", "paced", "streams"])
) => {
  for (let round = 1; round <= plan.rounds; round++) {
    log(`round ${round}/${plan.rounds}`)
    for (const connections of scenarios.has("saturate") ? plan.saturate.concurrencies : []) {
      const bucket = (results.saturate[String(connections)] ??= {})
      for (const r of running) {
        const { warmupMs, durationMs } = plan.saturate
        const sutPid = r.child?.pid ?? pids.upstream
        const [sat, shares] = await around(r, () =>
          Promise.all([
            loadgen.run({
              kind: "saturate",
              target: target(r),
              requests: [{ body: chatBody(r.model("bench-fast"), false) }],
              connections,
              warmupMs,
              durationMs
            }),
            cpuShares({ sut: sutPid, upstream: pids.upstream, loadgen: pids.loadgen }, warmupMs, warmupMs + durationMs)
          ]))
        const driver = shares.loadgen + (sutPid === pids.upstream ? 0 : shares.upstream)
        const res: SaturateTrial = { ...sat, procCpu: { sut: shares.sut, driver } }
        push(bucket, r.id, res)
        log(`  c${connections} ${r.label.padEnd(28)} ${fmt(res.rps).padStart(6)} req/s  p50 ${fmt(res.latency.p50, 2)} ms  p99 ${fmt(res.latency.p99, 2)} ms  cpu sut ${fmt(shares.sut * 100)}% driver ${fmt(driver * 100)}%  cores ${res.cpu.map((c) => fmt(c * 100)).join("/")}%${res.non2xx + res.errors > 0 ? `  non2xx ${res.non2xx} errors ${res.errors}` : ""}`)
      }
    }
    for (const r of scenarios.has("paced") ? running : []) {
      const res = await around(r, () =>
        loadgen.run({
          kind: "paced",
          target: target(r),
          body: chatBody(r.model("bench-fast"), false),
          rate: plan.paced.rate,
          warmupMs: plan.paced.warmupMs,
          durationMs: plan.paced.durationMs
        }))
      push(results.paced, r.id, res)
      log(`  ${plan.paced.rate} rps ${r.label.padEnd(28)} p50 ${fmt(res.latency.p50, 3)} ms  p99 ${fmt(res.latency.p99, 3)} ms  (${res.ok} ok, ${res.failed} failed)`)
    }
    for (const r of scenarios.has("streams") ? running : []) {
      const { warmupMs, durationMs } = plan.streams
      const sutPid = r.child?.pid ?? pids.upstream
      const [res, shares] = await around(r, () =>
        Promise.all([
          loadgen.run({
            kind: "streams",
            target: target(r),
            body: chatBody(r.model("bench-stream"), true),
            concurrency: plan.streams.concurrency,
            warmupMs,
            durationMs
          }),
          cpuShares({ sut: sutPid }, warmupMs, warmupMs + durationMs)
        ]))
      push(results.streams, r.id, res)
      // CPU per chunk: the process's CPU over the window ÷ the chunks of the streams it finished
      if (r.child !== undefined && res.ok > 0) {
        push((results.streamCpu ??= {}), r.id, (shares.sut * durationMs * 1000) / (res.ok * plan.streams.chunks))
      }
      log(`  stream ${r.label.padEnd(28)} ttft p50 ${fmt(res.ttft.p50, 3)} ms  total p50 ${fmt(res.total.p50, 2)} ms  (${res.ok} ok, ${res.failed} failed)  models ${Object.entries(res.models).map(([m, k]) => `${m}×${k}`).join(" ")}`)
    }
  }
}

export const runMemory = async (
  plan: Plan,
  running: ReadonlyArray<Running>,
  loadgen: Loadgen,
  results: Results,
  log: Log,
  into: NonNullable<Results["memoryFresh"]> = results.memory
) => {
  for (const r of running) {
    const child = r.child
    if (child === undefined || !plan.hold.competitors.includes(r.id)) continue
    await sleep(500)
    const idleRss = rssOf(child.pid)
    let holdRss = 0
    let timer: NodeJS.Timeout | undefined
    const sample = () => {
      holdRss = Math.max(holdRss, rssOf(child.pid))
    }
    const hold = await loadgen.run({
      kind: "hold",
      target: target(r),
      body: chatBody(r.model("bench-hold"), true),
      count: plan.hold.count,
      timeoutMs: 20_000
    }, () => {
      sample()
      timer = setInterval(sample, 50)
    })
    clearInterval(timer)
    into[r.id] = { idleRss, holdRss, hold }
    log(`  ${r.label.padEnd(28)} idle ${fmt(idleRss / 2 ** 20, 1)} MB  with ${hold.firstChunk}/${hold.count} streams open ${fmt(holdRss / 2 ** 20, 1)} MB  (${hold.completed} completed, ${hold.failed} failed${hold.firstError !== undefined ? `: ${hold.firstError.slice(0, 120)}` : ""})`)
  }
}

export const runDrift = async (plan: Plan, running: ReadonlyArray<Running>, loadgen: Loadgen, results: Results, log: Log) => {
  const drift = plan.drift
  if (drift === undefined) return
  const r = running.find((c) => c.id === "gateway")
  if (r === undefined || r.child === undefined) {
    results.drift = { unavailable: "llm-gateway (cache off) is not available" }
    return
  }
  const pid = r.child.pid
  const samples: Array<{ tMs: number; rss: number }> = []
  const t0 = Date.now()
  samples.push({ tMs: 0, rss: rssOf(pid) })
  const timer = setInterval(() => {
    samples.push({ tMs: Date.now() - t0, rss: rssOf(pid) })
    const last = samples[samples.length - 1]
    if (samples.length % 6 === 0) log(`  drift ${fmt(last.tMs / 1000)} s  rss ${fmt(last.rss / 2 ** 20, 1)} MB`)
  }, drift.sampleMs)
  // Every request distinct ([<id>]); half streamed: the load a leak would show under.
  const load = await loadgen.run({
    kind: "saturate",
    target: target(r),
    requests: [
      { body: chatBody(r.model("bench-fast"), false, "Classify alert [<id>] please.") },
      { body: chatBody(r.model("bench-fast"), true, "Summarise incident [<id>] please.") }
    ],
    connections: drift.connections,
    warmupMs: 0,
    durationMs: drift.durationMs
  })
  clearInterval(timer)
  samples.push({ tMs: Date.now() - t0, rss: rssOf(pid) })
  results.drift = { competitor: r.id, durationMs: drift.durationMs, samples, load }
}

export const runInProcess = async (options: {
  readonly benchDir: string
  readonly logDir: string
  readonly cpu: number
  readonly upstreamPort: number
  readonly quick: boolean
  readonly rounds: number
  /** Write a V8 CPU profile of the child into logDir. */
  readonly profile: boolean
}): Promise<InProcessResult | { unavailable: string }> => {
  const { benchDir, logDir, cpu, upstreamPort, quick, rounds, profile } = options
  let child: Child | undefined
  try {
    child = spawnNode({
      name: "inprocess",
      cpu,
      script: Path.join(benchDir, "src/inprocess/main.ts"),
      args: [JSON.stringify({ upstream: `http://127.0.0.1:${upstreamPort}`, quick, rounds })],
      nodeFlags: profile ? ["--cpu-prof", "--cpu-prof-dir", Path.join(logDir, "prof-inprocess")] : [],
      logDir
    })
    const c = child
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ unavailable: "in-process bench timed out" }), quick ? 60_000 : 240_000)
      c.proc.on("message", (m: unknown) => {
        const msg = m as { type: string; result?: InProcessResult; message?: string }
        clearTimeout(timer)
        if (msg.type === "result" && msg.result !== undefined) resolve(msg.result)
        else resolve({ unavailable: (msg.message ?? "failed").split("\n").slice(0, 4).join(" | ") })
      })
      c.proc.on("exit", (code) => {
        clearTimeout(timer)
        resolve({ unavailable: `exited with code ${code}: ${c.tail(6).replace(/\n/g, " | ")}` })
      })
    })
  } finally {
    // Let it exit by itself (a CPU profile is written on exit), then make sure it is gone.
    const c = child
    if (c !== undefined && !c.exited()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000)
        c.proc.once("exit", () => (clearTimeout(timer), resolve()))
      })
      c.kill()
    }
  }
}

/**
 * llm-gateway at the first concurrency with requests of one size in three shapes (text, tool call, multi-part),
 * interleaved within the round: what a tool call or a part costs over text.
 */
export const runShapes = async (plan: Plan, running: ReadonlyArray<Running>, loadgen: Loadgen, results: Results, log: Log) => {
  const r = running.find((c) => c.id === "gateway")
  if (r === undefined || r.child === undefined) return
  await runShapesOf(plan, r, loadgen, (results.shapes ??= {}), log)
  // the floor: the JSON proxy parses and re-serializes each body, and nothing more
  const floor = running.find((c) => c.id === "json")
  if (floor !== undefined && floor.child !== undefined) await runShapesOf(plan, floor, loadgen, (results.shapesFloor ??= {}), log)
}

const runShapesOf = async (plan: Plan, r: Running, loadgen: Loadgen, shapes: NonNullable<Results["shapes"]>, log: Log) => {
  if (r.child === undefined) return
  const bodies = shapedBodies(r.model("bench-fast"))
  const connections = plan.saturate.concurrencies[0]
  const { warmupMs, durationMs } = plan.saturate
  // the order turns each round: the first trial after the saturation scenarios pays for their garbage
  const all: ReadonlyArray<Shape> = ["text", "tools", "parts"]
  const turn = (shapes.text?.length ?? 0) % all.length
  for (const shape of [...all.slice(turn), ...all.slice(0, turn)]) {
    const [sat, shares] = await Promise.all([
      loadgen.run({ kind: "saturate", target: target(r), requests: [{ body: bodies[shape] }], connections, warmupMs, durationMs }),
      cpuShares({ sut: r.child.pid }, warmupMs, warmupMs + durationMs)
    ])
    push(shapes, shape, { ...sat, procCpu: { sut: shares.sut, driver: Number.NaN } })
    log(`  c${connections} ${shape.padEnd(6)} (${Buffer.byteLength(bodies[shape])} B) ${r.label.padEnd(24)} ${fmt(sat.rps).padStart(6)} req/s  ${fmt((shares.sut / sat.rps) * 1e6)} µs CPU/request${sat.non2xx + sat.errors > 0 ? `  non2xx ${sat.non2xx} errors ${sat.errors}` : ""}`)
  }
}

/** `gateway serve --workers auto`, unpinned: throughput with every core (measured apart from the pinned rounds). */
export const runWorkers = async (plan: Plan, running: ReadonlyArray<Running>, loadgen: Loadgen, results: Results, log: Log) => {
  const r = running.find((c) => c.id === "gateway-workers")
  if (r === undefined) return
  const workers = (results.workers ??= {})
  for (const connections of plan.saturate.concurrencies) {
    const sat = await loadgen.run({
      kind: "saturate",
      target: target(r),
      requests: [{ body: chatBody(r.model("bench-fast"), false) }],
      connections,
      warmupMs: plan.saturate.warmupMs,
      durationMs: plan.saturate.durationMs
    })
    ;(workers[String(connections)] ??= []).push(sat)
    log(`  c${connections} ${r.label.padEnd(28)} ${fmt(sat.rps).padStart(6)} req/s  p50 ${fmt(sat.latency.p50, 2)} ms  p99 ${fmt(sat.latency.p99, 2)} ms  cores ${sat.cpu.map((c) => fmt(c * 100)).join("/")}%${sat.non2xx + sat.errors > 0 ? `  non2xx ${sat.non2xx} errors ${sat.errors}` : ""}`)
  }
}
