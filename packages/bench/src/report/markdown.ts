/**
 * The generated section of notes/benchmarks.md: every figure as min / median / max over the
 * rounds of one run, ratios computed per round (same round = same machine state) and then
 * summarised, and the issue's targets checked against the medians.
 */
import type { CompetitorId } from "../Competitors.ts"
import type { Results, SaturateTrial } from "../Plan.ts"
import { type Spread, spread } from "../stats.ts"

const MB = 2 ** 20
const n = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "–")
const s3 = (s: Spread, d = 0) => (s.n === 0 ? "–" : s.n === 1 ? n(s.median, d) : `${n(s.min, d)} / **${n(s.median, d)}** / ${n(s.max, d)}`)
const med = (s: Spread, d = 0) => n(s.median, d)
const range = (s: Spread, d = 2) => (s.n <= 1 ? n(s.median, d) : `${n(s.median, d)} (${n(s.min, d)}–${n(s.max, d)})`)
const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "–")

/** Per-round values of `f` for one competitor. */
const perRound = <A>(rows: ReadonlyArray<A> | undefined, f: (a: A) => number): Array<number> => (rows ?? []).map(f)

/** Per-round ratio or difference between two competitors of the same round. */
const paired = <A>(a: ReadonlyArray<A> | undefined, b: ReadonlyArray<A> | undefined, f: (x: A, y: A) => number): Spread => {
  const out: Array<number> = []
  for (let i = 0; i < Math.min(a?.length ?? 0, b?.length ?? 0); i++) out.push(f(a![i], b![i]))
  return spread(out)
}

/** The models that answered the streams, with counts: a fallback to another model shows here. */
const answeredBy = (rows: ReadonlyArray<{ readonly models?: Record<string, number> }>): string => {
  const all: Record<string, number> = {}
  for (const r of rows) for (const [m, k] of Object.entries(r.models ?? {})) all[m] = (all[m] ?? 0) + k
  return Object.entries(all).map(([m, k]) => `${m} ×${k}`).join(", ")
}

const verdict = (ok: boolean | undefined) => (ok === undefined ? "n/a" : ok ? "met" : "**missed**")

export const renderMarkdown = (r: Results, chartFile: string): string => {
  const available = r.competitors.filter((c) => c.available).map((c) => c.id)
  const label = (id: CompetitorId) => r.competitors.find((c) => c.id === id)?.label ?? id
  const has = (id: CompetitorId) => available.includes(id)
  const lines: Array<string> = []
  const L = (s = "") => lines.push(s)
  const c0 = String(r.plan.saturate.concurrencies[0])
  const gw: CompetitorId = "gateway"

  L(`## Results (${r.mode} run, ${r.startedAt.slice(0, 16).replace("T", " ")} UTC, ${n(r.elapsedMs / 60000, 1)} min)`)
  L()
  L(`- Machine: ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memory}, ${r.machine.kernel}; Node ${r.machine.node}. Load average (1/5/15 min) at start ${r.machine.loadavgAtStart}, at end ${r.machine.loadavgAtEnd ?? "?"}: other sessions shared the machine, so absolute figures swing; compare within a round.`)
  L(`- Versions: autocannon ${r.machine.autocannon}, mitata ${r.machine.mitata}, openai ${r.machine.openai}, undici ${r.machine.undici}, effect ${r.machine.effect}, @portkey-ai/gateway ${r.machine["@portkey-ai/gateway"]} (with @hono/node-server ${r.machine["@hono/node-server"]}).`)
  L(`- Core layout: ${r.layout}.`)
  L(`- Command: \`pnpm bench${r.mode === "quick" ? " --quick" : ""}\`; ${r.plan.rounds} interleaved round(s). Cells read \`min / **median** / max\` over rounds; ratios and differences are taken within each round, then summarised as median (min–max).`)
  L()
  L("| competitor | status |")
  L("|---|---|")
  for (const c of r.competitors) L(`| ${c.label} | ${c.available ? `measured${c.notes !== undefined && c.notes.length > 0 ? ` (${c.notes.join("; ")})` : ""}` : `**not available**: ${c.reason ?? ""}`} |`)
  L()

  // Targets
  const sat = r.saturate[c0] ?? {}
  const rps = (id: CompetitorId) => sat[id]
  const gwRaw = paired(rps(gw), rps("raw"), (a, b) => a.rps / b.rps)
  const gwPk = paired(rps(gw), rps("portkey"), (a, b) => a.rps / b.rps)
  const addP50 = paired(r.paced[gw], r.paced.direct, (a, b) => a.latency.p50 - b.latency.p50)
  const addP99 = paired(r.paced[gw], r.paced.direct, (a, b) => a.latency.p99 - b.latency.p99)
  const ttftAdd = paired(r.streams[gw], r.streams.direct, (a, b) => a.ttft.p50 - b.ttft.p50)
  const mem = r.memory[gw]
  const micro = r.inProcess !== undefined && "micro" in r.inProcess ? r.inProcess.micro : []
  const us = (name: string) => micro.find((m) => m.name === name)
  const mgr = us("manager.generate, cache off")
  const sdkU = us("bare SDK, undici Agent fetch")
  const sdkD = us("bare SDK, default fetch")
  const bare = us("bare HTTP (undici Pool + JSON.parse)")
  const l1 = us("manager.generate, L1 hit")
  const plan = us("ModelRouter.plan (runSync, 5 candidates)")
  const overhead = mgr !== undefined && sdkU !== undefined ? mgr.p50Us - sdkU.p50Us : Number.NaN
  const gwRaw64 = paired(r.saturate[String(r.plan.saturate.concurrencies[1])]?.[gw], r.saturate[String(r.plan.saturate.concurrencies[1])]?.raw, (a, b) => a.rps / b.rps)
  const fresh = r.memoryFresh?.[gw]
  const chunkCpu = spread(r.streamCpu?.[gw] ?? [])
  const shapeCost = (shape: "tools" | "parts", of = r.shapes) =>
    paired(of?.[shape], of?.text, (a, b) => (a.procCpu.sut / a.rps) / (b.procCpu.sut / b.rps) - 1)
  const toolCost = shapeCost("tools")
  const partCost = shapeCost("parts")
  // the same bodies through the JSON proxy: what parsing and re-serializing a shape costs any reading proxy
  const floorNote = (shape: "tools" | "parts") => {
    const f = shapeCost(shape, r.shapesFloor)
    return f.n === 0 ? "" : `; JSON proxy ${range(f, 3)}`
  }
  L("### Targets (issue 19; ratios within a run)")
  L()
  L("| target | measured (median, per-round range) | verdict |")
  L("|---|---|---|")
  const ok = (s: Spread, f: (x: number) => boolean) => (s.n === 0 ? undefined : f(s.median))
  L(`| saturation (c${c0}) ≥ 0.5× the raw proxy, one process | ${range(gwRaw)} × raw | ${verdict(ok(gwRaw, (x) => x >= 0.5))} |`)
  L(`| saturation (c${r.plan.saturate.concurrencies[1]}) ≥ 0.5× the raw proxy | ${range(gwRaw64)} × raw | ${verdict(ok(gwRaw64, (x) => x >= 0.5))} |`)
  L(`| saturation (c${c0}) ≥ 3× Portkey | ${range(gwPk)} × Portkey | ${verdict(ok(gwPk, (x) => x >= 3))} |`)
  const cpuPerReq = paired(rps(gw), rps("raw"), (a, b) => (a.procCpu.sut / a.rps) / (b.procCpu.sut / b.rps))
  L(`| (context) CPU per request, gateway ÷ raw proxy (c${c0}) | ${range(cpuPerReq, 1)} × | – |`)
  L(`| added p50 at ${r.plan.paced.rate} req/s ≤ 0.5 ms | ${range(addP50, 3)} ms | ${verdict(ok(addP50, (x) => x <= 0.5))} |`)
  L(`| added p99 at ${r.plan.paced.rate} req/s ≤ 3 ms | ${range(addP99, 3)} ms | ${verdict(ok(addP99, (x) => x <= 3))} |`)
  L(`| streaming TTFT overhead (p50) ≤ 1 ms | ${range(ttftAdd, 3)} ms | ${verdict(ok(ttftAdd, (x) => x <= 1))} |`)
  L(`| CPU per streamed chunk ≤ 30 µs | ${range(chunkCpu, 1)} µs | ${verdict(ok(chunkCpu, (x) => x <= 30))} |`)
  const memOk = (m: typeof mem) => (m === undefined ? undefined : m.holdRss <= 200 * MB && m.hold.firstChunk === m.hold.count)
  L(`| ${r.plan.hold.count} concurrent streams ≤ 200 MB RSS from a fresh start | ${fresh !== undefined ? `${n(fresh.holdRss / MB, 1)} MB (${fresh.hold.firstChunk} open at once)` : "–"} | ${verdict(memOk(fresh))} |`)
  L(`| (stated) the same after the saturation scenarios | ${mem !== undefined ? `${n(mem.holdRss / MB, 1)} MB (${mem.hold.firstChunk} open at once)` : "–"} | – |`)
  const overBare = mgr !== undefined && bare !== undefined ? mgr.p50Us - bare.p50Us : Number.NaN
  L(`| manager.generate overhead over a bare undici request ≤ 60 µs | ${n(overBare, 1)} µs p50 (${n(overhead, 1)} µs vs the SDK on undici) | ${verdict(Number.isFinite(overBare) ? overBare <= 60 : undefined)} |`)
  L(`| L1 hit ≤ 10 µs | ${l1 !== undefined ? `${n(l1.p50Us, 1)} µs (manager.generate, p50)` : "–"} | ${verdict(l1 !== undefined ? l1.p50Us <= 10 : undefined)} |`)
  L(`| tool-call request ≤ 10% over text of the same size (CPU per request) | ${toolCost.n === 0 ? "–" : `${range(toolCost, 3)}${floorNote("tools")}`} | ${verdict(ok(toolCost, (x) => x <= 0.1))} |`)
  L(`| multi-part request ≤ 10% over text of the same size | ${partCost.n === 0 ? "–" : `${range(partCost, 3)}${floorNote("parts")}`} | ${verdict(ok(partCost, (x) => x <= 0.1))} |`)
  L(`| routing one request < 20 µs | ${plan !== undefined ? `${n(plan.p50Us, 2)} µs (p50)` : "–"} | ${verdict(plan !== undefined ? plan.p50Us < 20 : undefined)} |`)
  if (has("gateway-baseline")) {
    const vsBase = paired(rps(gw), rps("gateway-baseline"), (a, b) => a.rps / b.rps)
    L(`| (context) this gateway ÷ the \`--baseline\` gateway (c${c0}) | ${range(vsBase)} × | – |`)
  }
  L()

  // (a)
  L("### (a) Saturation throughput (closed loop, autocannon)")
  L()
  for (const c of r.plan.saturate.concurrencies) {
    const b = r.saturate[String(c)] ?? {}
    L(`Concurrency ${c}, ${r.plan.saturate.durationMs / 1000} s per trial after ${r.plan.saturate.warmupMs / 1000} s warm-up, non-streamed chat completions. CPU columns: share of one core used by the competitor's process and by the driver processes (load generator + upstream) in the window; a competitor near 100% was the bottleneck, a driver near 100% means the trial measured the driver. CPU µs per request (competitor CPU ÷ throughput) is the figure least disturbed by other load on the machine.`)
    L()
    L("| competitor | req/s (min / **median** / max) | × raw proxy | p50 ms | p99 ms | competitor CPU | CPU µs / request | driver CPU | cores 0/1 busy (all processes) | errors |")
    L("|---|---|---|---|---|---|---|---|---|---|")
    for (const id of available) {
      const rows = b[id]
      if (rows === undefined) continue
      const ratio = paired(rows, b.raw, (x, y) => x.rps / y.rps)
      const errs = rows.reduce((a, x) => a + x.errors + x.non2xx, 0)
      L(`| ${label(id)} | ${s3(spread(perRound(rows, (x) => x.rps)))} | ${range(ratio)} | ${med(spread(perRound(rows, (x) => x.latency.p50)), 2)} | ${med(spread(perRound(rows, (x) => x.latency.p99)), 2)} | ${pct(spread(perRound(rows, (x) => x.procCpu.sut)).median)} | ${med(spread(perRound(rows, (x) => (x.procCpu.sut / x.rps) * 1e6)))} | ${pct(spread(perRound(rows, (x) => x.procCpu.driver)).median)} | ${pct(spread(perRound(rows, (x) => x.cpu[0] ?? Number.NaN)).median)} / ${pct(spread(perRound(rows, (x) => x.cpu[1] ?? Number.NaN)).median)} | ${errs} |`)
    }
    const g = paired(b[gw], b.raw, (x, y) => x.rps / y.rps)
    const p = paired(b[gw], b.portkey, (x, y) => x.rps / y.rps)
    const sd = paired(b["sdk-default"], b.raw, (x, y) => x.rps / y.rps)
    const su = paired(b["sdk-undici"], b.raw, (x, y) => x.rps / y.rps)
    const pr = paired(b.portkey, b.raw, (x, y) => x.rps / y.rps)
    L()
    L(`Ratios at c${c}: gateway/raw ${range(g)}, gateway/Portkey ${range(p)}; for reference SDK(default fetch)/raw ${range(sd)}, SDK(undici Pool)/raw ${range(su)}, Portkey/raw ${range(pr)}.`)
    L()
  }

  // (b)
  L(`### (b) Added latency at a fixed ${r.plan.paced.rate} requests/s (open loop)`)
  L()
  L(`One request every ${n(1000 / r.plan.paced.rate, 1)} ms for ${r.plan.paced.durationMs / 1000} s per trial (undici Pool, latency from send to last byte); "added" is the competitor's percentile minus direct's in the same round.`)
  L()
  L("| competitor | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms |")
  L("|---|---|---|---|---|---|")
  for (const id of available) {
    const rows = r.paced[id]
    if (rows === undefined) continue
    const a50 = paired(rows, r.paced.direct, (x, y) => x.latency.p50 - y.latency.p50)
    const a99 = paired(rows, r.paced.direct, (x, y) => x.latency.p99 - y.latency.p99)
    L(`| ${label(id)} | ${s3(spread(perRound(rows, (x) => x.latency.p50)), 3)} | ${s3(spread(perRound(rows, (x) => x.latency.p99)), 3)} | ${med(spread(perRound(rows, (x) => x.latency.p999)), 3)} | ${id === "direct" ? "–" : range(a50, 3)} | ${id === "direct" ? "–" : range(a99, 3)} |`)
  }
  L()
  L(`![latency percentiles at ${r.plan.paced.rate} req/s](${chartFile})`)
  L()

  // (c)
  L(`### (c) Streaming: ${r.plan.streams.chunks} chunks, ${r.plan.streams.chunkIntervalMs} ms apart, ${r.plan.streams.concurrency} concurrent streams`)
  L()
  L("Time to first token = until the first SSE event with non-empty content arrives; the upstream sends it at once, so TTFT is pure transport.")
  L()
  L("CPU µs per chunk: the competitor's process CPU over the window ÷ the chunks of the streams finished in it.")
  L()
  L("| competitor | TTFT p50 ms | TTFT p99 ms | total p50 ms | added TTFT p50 ms | CPU µs / chunk | failed | answered by |")
  L("|---|---|---|---|---|---|---|---|")
  for (const id of available) {
    const rows = r.streams[id]
    if (rows === undefined) continue
    const add = paired(rows, r.streams.direct, (x, y) => x.ttft.p50 - y.ttft.p50)
    const cpu = spread(r.streamCpu?.[id] ?? [])
    L(`| ${label(id)} | ${s3(spread(perRound(rows, (x) => x.ttft.p50)), 3)} | ${med(spread(perRound(rows, (x) => x.ttft.p99)), 3)} | ${s3(spread(perRound(rows, (x) => x.total.p50)), 2)} | ${id === "direct" ? "–" : range(add, 3)} | ${cpu.n === 0 ? "–" : range(cpu, 1)} | ${rows.reduce((a, x) => a + x.failed, 0)} | ${answeredBy(rows)} |`)
  }
  L()
  if (r.shapes !== undefined) {
    L(`### (c2) Request shapes: text, tool call, multi-part of the same size (llm-gateway, c${c0})`)
    L()
    L("The JSON proxy gets the same bodies: it parses each and sends it on re-serialized, and nothing more — the cost of a shape to any proxy that reads the request.")
    L()
    L("| shape | req/s | CPU µs / request | CPU over text | JSON proxy: CPU µs / request | JSON proxy: CPU over text |")
    L("|---|---|---|---|---|---|")
    const cpuOf = (rows: ReadonlyArray<SaturateTrial> | undefined) => rows === undefined ? "–" : med(spread(perRound(rows, (x) => (x.procCpu.sut / x.rps) * 1e6)))
    for (const shape of ["text", "tools", "parts"] as const) {
      const rows = r.shapes[shape]
      if (rows === undefined) continue
      const over = paired(rows, r.shapes.text, (a, b) => (a.procCpu.sut / a.rps) / (b.procCpu.sut / b.rps) - 1)
      const floor = r.shapesFloor?.[shape]
      const floorOver = paired(floor, r.shapesFloor?.text, (a, b) => (a.procCpu.sut / a.rps) / (b.procCpu.sut / b.rps) - 1)
      L(`| ${shape} | ${s3(spread(perRound(rows, (x) => x.rps)))} | ${cpuOf(rows)} | ${shape === "text" ? "–" : range(over, 3)} | ${cpuOf(floor)} | ${shape === "text" || floorOver.n === 0 ? "–" : range(floorOver, 3)} |`)
    }
    L()
  }
  if (r.workers !== undefined) {
    L("### (c3) `gateway serve --workers auto` (workers = cores, not pinned)")
    L()
    L("Measured apart from the pinned rounds: the workers share both cores with the load generator and the upstream, so read it as what one machine serves, not as a ratio to the pinned competitors.")
    L()
    L("| concurrency | req/s (min / **median** / max) | × one pinned process (same round) | p50 ms | p99 ms | errors |")
    L("|---|---|---|---|---|---|")
    for (const [c, rows] of Object.entries(r.workers)) {
      const one = paired(rows, r.saturate[c]?.[gw], (a, b) => a.rps / b.rps)
      L(`| c${c} | ${s3(spread(perRound(rows, (x) => x.rps)))} | ${range(one)} | ${med(spread(perRound(rows, (x) => x.latency.p50)), 2)} | ${med(spread(perRound(rows, (x) => x.latency.p99)), 2)} | ${rows.reduce((a, x) => a + x.errors + x.non2xx, 0)} |`)
    }
    L()
  }

  // (d)
  L("### (d) Cache hits")
  L()
  if (has("gateway-cache")) {
    const hit = r.paced["gateway-cache"]
    const hitSat = sat["gateway-cache"]
    L(`- Over HTTP (the same request repeated, so every request after the first is an L1 hit): ${n(spread(perRound(hitSat, (x) => x.rps)).median)} req/s at c${c0} (${range(paired(hitSat, rps(gw), (x, y) => x.rps / y.rps))} × cache off); p50 ${n(spread(perRound(hit, (x) => x.latency.p50)).median, 3)} ms at ${r.plan.paced.rate} req/s, ${range(paired(hit, r.paced.direct, (x, y) => x.latency.p50 - y.latency.p50), 3)} ms over direct.`)
  } else L("- Over HTTP: llm-gateway not available.")
  if (l1 !== undefined) L(`- In process: manager.generate on an L1 hit ${n(l1.p50Us, 2)} µs p50; CacheService.getOrCompute alone ${n(us("CacheService.getOrCompute, L1 hit")?.p50Us ?? Number.NaN, 2)} µs p50.`)
  L()

  // (e)
  L(`### (e) Memory`)
  L()
  L(`RSS of the competitor's process (/proc/PID/status VmRSS): right after start; the highest value while ${r.plan.hold.count} streams (model bench-hold: ${r.plan.streams.chunks} chunks ${r.plan.hold.holdIntervalMs} ms apart) were open at once, first from a fresh start (before any other load), then idle after the scenarios above and with the same ${r.plan.hold.count} streams again.`)
  L()
  L("| competitor | RSS after start MB | streams open, fresh start MB | idle RSS after load MB | streams open after load MB | per stream KB (after load) | streams open at once | completed | failed |")
  L("|---|---|---|---|---|---|---|---|---|")
  for (const id of available) {
    const m = r.memory[id]
    const f = r.memoryFresh?.[id]
    if (m === undefined && f === undefined) continue
    const startRss = r.competitors.find((c) => c.id === id)?.startRss ?? Number.NaN
    const held = m ?? f!
    L(`| ${label(id)} | ${n(startRss / MB, 1)} | ${f !== undefined ? n(f.holdRss / MB, 1) : "–"} | ${m !== undefined ? n(m.idleRss / MB, 1) : "–"} | ${m !== undefined ? n(m.holdRss / MB, 1) : "–"} | ${m !== undefined ? n((m.holdRss - m.idleRss) / 1024 / Math.max(1, m.hold.firstChunk), 1) : "–"} | ${held.hold.firstChunk}/${held.hold.count} | ${held.hold.completed} | ${held.hold.failed}${held.hold.firstError !== undefined ? ` (${held.hold.firstError.slice(0, 80)})` : ""} |`)
  }
  L()
  if (r.drift !== undefined) {
    if ("unavailable" in r.drift) L(`RSS drift: not available (${r.drift.unavailable}).`)
    else {
      const d = r.drift
      const slopeOf = (from: number) => {
        const pts = d.samples.filter((s) => s.tMs >= from)
        const xs = pts.map((s) => s.tMs / 60_000)
        const ys = pts.map((s) => s.rss / MB)
        const mx = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
        const my = ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length)
        let num = 0
        let den = 0
        for (let i = 0; i < xs.length; i++) {
          num += (xs[i] - mx) * (ys[i] - my)
          den += (xs[i] - mx) ** 2
        }
        return den > 0 ? num / den : Number.NaN
      }
      const at = (t: number) => (d.samples.find((s) => s.tMs >= t)?.rss ?? Number.NaN) / MB
      const rssAll = d.samples.map((s) => s.rss / MB)
      L(`RSS drift, llm-gateway (cache off) under ${d.durationMs / 60000} min of closed-loop load (autocannon, ${r.plan.drift?.connections} connections, every request distinct, half streamed): ${n(d.load.rps)} req/s, ${d.load.ok} requests, ${d.load.errors + d.load.non2xx} errors. RSS at 30 s ${n(at(30_000), 1)} MB, at the end ${n(rssAll[rssAll.length - 1] ?? Number.NaN, 1)} MB, lowest ${n(Math.min(...rssAll), 1)} MB, highest ${n(Math.max(...rssAll), 1)} MB; least-squares slope over the second half: ${n(slopeOf(d.durationMs / 2), 2)} MB/min.`)
      L()
      L(`Samples (s: MB): ${d.samples.filter((_, i) => i % 6 === 0 || i === d.samples.length - 1).map((s) => `${n(s.tMs / 1000)}: ${n(s.rss / MB, 1)}`).join(", ")}`)
    }
    L()
  }

  // (f)
  L("### (f) In process (mitata)")
  L()
  if (r.inProcess === undefined) L("Not run.")
  else if ("unavailable" in r.inProcess) L(`Not available: ${r.inProcess.unavailable}`)
  else {
    L("Pinned to the SUT core; the upstream answers from the other core over loopback, so the HTTP round trip is inside every figure except plan and cache.")
    L()
    L("| benchmark | avg µs | p50 µs | p99 µs | samples |")
    L("|---|---|---|---|---|")
    for (const m of r.inProcess.micro) L(`| ${m.name} | ${n(m.avgUs, 2)} | ${n(m.p50Us, 2)} | ${n(m.p99Us, 2)} | ${m.samples} |`)
    L()
    if (mgr !== undefined && sdkU !== undefined && sdkD !== undefined) {
      L(`manager.generate − bare SDK: ${n(mgr.p50Us - sdkU.p50Us, 1)} µs p50 against the SDK on an undici Agent (${n(mgr.avgUs - sdkU.avgUs, 1)} µs avg); ${n(mgr.p50Us - sdkD.p50Us, 1)} µs p50 against the SDK with its default fetch; ${n(overBare, 1)} µs p50 over a bare undici request (the gateway's own cost when its OpenAI client bypasses the SDK). Plan candidates: ${r.inProcess.planCandidates.join(" → ")}.`)
      L()
    }
  }
  if (r.baselineInProcess !== undefined) {
    L()
    L("In-process bench of the `--baseline` checkout (same upstream, run right after):")
    L()
    if ("unavailable" in r.baselineInProcess) L(`Not available: ${r.baselineInProcess.unavailable}`)
    else {
      const mine = micro
      L("| benchmark | baseline p50 µs | this p50 µs | this ÷ baseline |")
      L("|---|---|---|---|")
      for (const m of r.baselineInProcess.micro) {
        const t = mine.find((x) => x.name === m.name)
        L(`| ${m.name} | ${n(m.p50Us, 2)} | ${t !== undefined ? n(t.p50Us, 2) : "–"} | ${t !== undefined ? n(t.p50Us / m.p50Us, 2) : "–"} |`)
      }
    }
    L()
  }
  return lines.join("\n")
}
