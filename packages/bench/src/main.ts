/**
 * `pnpm bench [--quick] [--rounds N] [--no-drift] [--no-inprocess] [--only id,id] [--profile] [--report-only] [--no-pin]
 *   [--scenarios saturate,paced,streams,shapes,memory,workers] [--repo DIR] [--baseline DIR]`
 *
 * `--repo DIR` measures the gateway of another checkout (what its `pnpm start` runs: `gatewayScript`);
 * `--baseline DIR` adds that checkout's gateway as one more competitor (`gateway-baseline`,
 * cache off), so two builds are compared within the same rounds, and runs that checkout's
 * in-process bench after this one's. `memory` holds 1,000 streams right after start and again
 * after the other scenarios; `workers` measures `serve --workers auto` unpinned, apart from the
 * pinned rounds; `shapes` compares text, tool-call and multi-part requests of one size.
 *
 * Starts the upstream emulator, the load generator and every competitor as child processes
 * pinned to cores (see `layout`), runs the scenarios interleaved, and writes the figures:
 * full mode → notes/benchmarks.md (the generated section) and notes/bench-latency.svg;
 * quick mode → packages/bench/results/quick.{md,svg}. Raw results go to packages/bench/results/.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type CompetitorId, isRunning, LABELS, type Layout, type Running, startCompetitor } from "./Competitors.ts"
import { makeLoadgen } from "./loadgen/Loadgen.ts"
import { fullPlan, type Plan, quickPlan, type Results } from "./Plan.ts"
import { canPin, disablePinning, installExitHooks, interrupt, killAll, pin, rssOf, spawnNode, waitReady } from "./procs/Processes.ts"
import { summarizeProfiles } from "./profile/summarize.ts"
import { machineInfo } from "./report/machine.ts"
import { writeReports } from "./report/writeReports.ts"
import { runDrift, runInProcess, runMemory, runRounds, runShapes, runWorkers, warmUp } from "./Scenarios.ts"

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const option = (name: string) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

if (flag("--no-pin")) disablePinning()
const quick = flag("--quick")
const base = quick ? quickPlan : fullPlan
const rounds = option("--rounds")
const plan: Plan = {
  ...base,
  rounds: rounds !== undefined ? Math.max(1, Number(rounds)) : base.rounds,
  drift: flag("--no-drift") ? undefined : base.drift,
  inProcess: !flag("--no-inprocess") && base.inProcess
}
const baselineRepo = option("--baseline")
const SCENARIOS = ["saturate", "paced", "streams", "shapes", "memory", "workers"] as const
const scenarios = new Set(option("--scenarios")?.split(",") ?? SCENARIOS)
const ALL: ReadonlyArray<CompetitorId> = [
  "direct",
  "raw",
  "json",
  "sdk-default",
  "sdk-undici",
  "gateway",
  "gateway-baseline",
  "gateway-cache",
  "portkey",
  "gateway-workers"
]
const only = option("--only")?.split(",") as Array<CompetitorId> | undefined
const selected = (id: CompetitorId) => only === undefined || only.includes(id)
const ids = ALL.filter((id) => {
  if (id === "gateway-baseline") return baselineRepo !== undefined
  if (id === "gateway-workers") return scenarios.has("workers") && (selected(id) || selected("gateway"))
  return selected(id)
})

const benchDir = Path.resolve(import.meta.dirname, "..")
const repoRoot = Path.resolve(benchDir, "../..")
const gatewayRepo = Path.resolve(option("--repo") ?? repoRoot)
// Two cores: the system under test gets one to itself; the load generator, the upstream and
// this process share the other. On a bigger machine the same two cores are used.
const layout: Layout = { sut: 0, driver: Os.availableParallelism() > 1 ? 1 : 0 }
let logDir = ""
const t0 = Date.now()
const log = (line: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`)

// Read before this process pins itself (availableParallelism follows the affinity mask).
const machine = machineInfo(benchDir)

const main = async () => {
  logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-bench-"))
  installExitHooks()
  pin(process.pid, layout.driver)
  log(`bench ${plan.mode}: ${plan.rounds} round(s), logs in ${logDir}${canPin() ? "" : " (taskset unavailable: processes NOT pinned)"}`)
  const upstream = await waitReady(spawnNode({
    name: "upstream",
    cpu: layout.driver,
    script: Path.join(benchDir, "src/upstream/main.ts"),
    args: [JSON.stringify({ chunks: plan.streams.chunks, chunkIntervalMs: plan.streams.chunkIntervalMs, holdIntervalMs: plan.hold.holdIntervalMs })],
    logDir
  }))
  const loadgenChild = await waitReady(spawnNode({ name: "loadgen", cpu: layout.driver, script: Path.join(benchDir, "src/loadgen/main.ts"), logDir }))
  const loadgen = makeLoadgen(loadgenChild)

  const results: Results = {
    mode: plan.mode,
    plan,
    startedAt: new Date(t0).toISOString(),
    elapsedMs: 0,
    machine,
    layout: canPin()
      ? `core ${layout.sut}: the competitor under test (one at a time; the upstream itself during "direct" trials) · core ${layout.driver}: load generator (autocannon / undici), upstream emulator, this orchestrator`
      : "not pinned (taskset unavailable)",
    competitors: [],
    saturate: {},
    paced: {},
    streams: {},
    memory: {}
  }

  if (plan.inProcess) {
    log("in-process (mitata): manager.generate vs bare SDK, ModelRouter.plan, L1 hit")
    results.inProcess = await runInProcess({ benchDir, logDir, cpu: layout.sut, upstreamPort: upstream.port, quick, rounds: plan.rounds, profile: flag("--profile") })
    if ("micro" in results.inProcess) {
      for (const m of results.inProcess.micro) log(`  ${m.name.padEnd(40)} avg ${m.avgUs.toFixed(2)} µs  p50 ${m.p50Us.toFixed(2)} µs`)
    } else log(`  not available: ${results.inProcess.unavailable}`)
    if (baselineRepo !== undefined) {
      const dir = Path.resolve(baselineRepo, "packages/bench")
      log(`in-process, baseline (${dir})`)
      results.baselineInProcess = Fs.existsSync(Path.join(dir, "src/inprocess/main.ts"))
        ? await runInProcess({ benchDir: dir, logDir, cpu: layout.sut, upstreamPort: upstream.port, quick, rounds: plan.rounds, profile: false })
        : { unavailable: `${dir}/src/inprocess/main.ts does not exist` }
      if ("micro" in results.baselineInProcess) {
        for (const m of results.baselineInProcess.micro) log(`  ${m.name.padEnd(40)} avg ${m.avgUs.toFixed(2)} µs  p50 ${m.p50Us.toFixed(2)} µs`)
      } else log(`  not available: ${results.baselineInProcess.unavailable}`)
    }
    if (flag("--profile")) {
      const file = Path.join(benchDir, "results", "profile-inprocess.txt")
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      Fs.writeFileSync(file, summarizeProfiles(Path.join(logDir, "prof-inprocess"), 0))
      log(`  profile: ${Path.relative(repoRoot, file)}`)
    }
  }

  const profile = flag("--profile")
  const ctx = {
    repoRoot,
    benchDir,
    logDir,
    upstream,
    layout,
    profile,
    gatewayRepo,
    baselineRepo: baselineRepo === undefined ? undefined : Path.resolve(baselineRepo)
  }
  const running: Array<Running> = []
  for (const id of ids) {
    const c = await startCompetitor(ctx, id)
    if (isRunning(c)) {
      running.push(c)
      results.competitors.push({ id, label: c.label, available: true, notes: c.notes, startRss: c.child !== undefined ? rssOf(c.child.pid) : undefined })
      log(`started ${c.label}${c.child !== undefined ? ` (pid ${c.child.pid})` : ""}${c.notes.length > 0 ? `  ${c.notes.join("; ")}` : ""}`)
    } else {
      results.competitors.push({ id, label: LABELS[id], available: false, reason: c.reason })
      log(`NOT AVAILABLE ${c.label}: ${c.reason}`)
    }
  }

  // the workers competitor is measured on its own (unpinned), never in the pinned rounds
  const pinned = running.filter((r) => r.id !== "gateway-workers")
  if (scenarios.has("memory")) {
    log(`memory from a fresh start: ${plan.hold.count} concurrent open streams`)
    await runMemory(plan, pinned, loadgen, results, log, (results.memoryFresh = {}))
  }
  const warmupAt = Date.now()
  log("warm-up")
  await warmUp(plan, running, loadgen, log)
  const pids = { upstream: upstream.pid, loadgen: loadgenChild.pid }
  for (let round = 1; round <= plan.rounds; round++) {
    await runRounds({ ...plan, rounds: 1 }, pinned, loadgen, pids, results, (line) => log(line.replace("round 1/1", `round ${round}/${plan.rounds}`)), scenarios)
    if (scenarios.has("shapes")) await runShapes(plan, pinned, loadgen, results, log)
    if (scenarios.has("workers")) await runWorkers(plan, running, loadgen, results, log)
  }
  if (scenarios.has("memory")) {
    log(`memory after the scenarios: ${plan.hold.count} concurrent open streams`)
    await runMemory(plan, pinned, loadgen, results, log)
  }
  if (plan.drift !== undefined) {
    log(`RSS drift: ${plan.drift.durationMs / 1000} s of sustained load on llm-gateway`)
    await runDrift(plan, running, loadgen, results, log)
  }
  if (profile) {
    for (const r of running) {
      if (r.child === undefined || !r.id.startsWith("gateway")) continue
      await interrupt(r.child)
      const summary = summarizeProfiles(Path.join(logDir, `prof-${r.id}`), warmupAt - r.child.spawnedAt)
      const file = Path.join(benchDir, "results", `profile-${r.id}.txt`)
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      Fs.writeFileSync(file, summary)
      log(`profile of ${r.label} (load phase only): ${Path.relative(repoRoot, file)}\n${summary.split("\n").slice(0, 40).join("\n")}`)
    }
  }
  results.elapsedMs = Date.now() - t0
  results.machine.loadavgAtEnd = Os.loadavg().map((x) => x.toFixed(2)).join(" ")
  const written = writeReports(results, { benchDir, repoRoot })
  log(`done in ${(results.elapsedMs / 1000).toFixed(1)} s; wrote ${written.join(", ")}`)
}

/** `--report-only`: re-render the notes from the last run's JSON (after a change to the report). */
const reportOnly = () => {
  const file = Path.join(benchDir, "results", `${plan.mode}.json`)
  const results = JSON.parse(Fs.readFileSync(file, "utf8")) as Results
  log(`re-rendered ${writeReports(results, { benchDir, repoRoot }).join(", ")} from ${Path.relative(repoRoot, file)}`)
}

;(flag("--report-only") ? Promise.resolve().then(reportOnly) : main()).then(
  () => {
    killAll()
    process.exit(0)
  },
  (error: unknown) => {
    killAll()
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\nlogs: ${logDir}\n`)
    process.exit(1)
  }
)
