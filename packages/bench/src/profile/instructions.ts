/**
 * Instructions per request, counted by valgrind's callgrind: the figure that stays put while
 * other work shares the machine (wall-clock and even CPU time swing with the load average;
 * instruction counts do not). Used for before/after decisions on the hot path.
 *
 *   node src/profile/instructions.ts [--repo "DIR [node flags] [NAME=value]"]… [--raw] [--json] [--requests N] [--warmup N]
 *                                    [--connections C] [--stream] [--tool-call] [--shape text|tools|parts]
 *                                    [--main-thread] [--jit-names N]
 *
 * Each competitor (the gateway of each `--repo` checkout as its `pnpm start` runs it, `serve`,
 * with `--raw` the raw node:http proxy, with `--json` the JSON proxy: it parses and re-serializes
 * what passes, the floor for any gateway that reads the request) runs under callgrind against the bench upstream;
 * after `--warmup` requests (JIT; uninstrumented, `--instr-atstart=no`) instrumentation is turned
 * on and the counters zeroed (`callgrind_control -i on`, `-z`), `--requests`
 * requests are sent from `--connections` loops, and the counters are dumped: instructions ÷
 * requests. Slow (valgrind runs node ~30× slower): a few minutes per competitor.
 *
 * `--shape`: the bench's request shapes of one size (`shapedBodies`, scenario c2), so what a
 * tool call or a multi-part message costs over text is counted rather than timed.
 *
 * `--main-thread`: count the event loop's thread only (callgrind's `--separate-threads=yes`).
 * The other threads' share moves between runs of the same build: the ledger's writer thread does
 * a fixed amount of work per flush (one a second, and a run under valgrind lasts tens of seconds)
 * and its SQLite file grows from run to run; V8's compiler and GC helper threads finish when
 * they finish. For an A/B of code on the request path this is the steadier figure.
 *
 * `--jit-names N`: every competitor also runs with `--perf-basic-prof`, and the N functions with
 * the most instructions per request are listed, JavaScript ones by name (`jitNames.ts`).
 */
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { chatBody, gatewayScript, gatewayYaml, type Shape, shapedBodies, startEnv, startFlags } from "../Competitors.ts"
import { freePort, installExitHooks } from "../procs/Processes.ts"
import { all, benchDir, num, repos as repoArgs, sendChats, startUpstream } from "./args.ts"
import { topFunctions } from "./jitNames.ts"

const argv = process.argv.slice(2)
const repos = repoArgs(argv.includes("--raw") || argv.includes("--json"))
const requests = num("--requests", 2_000)
const warmup = num("--warmup", 2_000)
const connections = num("--connections", 16)
const stream = argv.includes("--stream")
const toolCall = argv.includes("--tool-call")
const mainThread = argv.includes("--main-thread")
const jitNames = num("--jit-names", 0)
const shapeAt = argv.indexOf("--shape")
const shape = shapeAt >= 0 ? argv[shapeAt + 1] as Shape : undefined

/** The request body: text, or the same size carried by a tool call round trip (assistant tool_calls + tool result). */
const body = (): string => {
  if (shape !== undefined) return shapedBodies("bench-fast")[shape]
  if (!toolCall) return chatBody("bench-fast", stream)
  return JSON.stringify({
    model: "bench-fast",
    messages: [
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "sunny" }
    ],
    tools: [{ type: "function", function: { name: "w", parameters: { type: "object", properties: {} } } }],
    max_tokens: 64,
    ...(stream ? { stream: true } : {})
  })
}

const send = (origin: string, n: number): Promise<number> => sendChats(origin, n, connections, body())

const waitUp = async (origin: string, timeoutMs = 1_800_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${origin}/health`, { signal: AbortSignal.timeout(5_000) })
      await res.arrayBuffer()
      return
    } catch {
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  throw new Error(`${origin} did not answer`)
}

const control = (args: ReadonlyArray<string>) => spawnSync("callgrind_control", args, { encoding: "utf8" })

const measure = async (name: string, cmd: ReadonlyArray<string>, cwd: string, port: number, logDir: string, env: Record<string, string> = {}) => {
  const out = Path.join(logDir, `callgrind.${name}.out`)
  const log = Fs.openSync(Path.join(logDir, `${name}.log`), "w")
  // no instrumentation until the warm-up is done: start-up (module loading, type stripping) runs ~5× faster
  const threads = mainThread ? ["--separate-threads=yes"] : []
  const perfMap = jitNames > 0 ? ["--perf-basic-prof"] : []
  const proc = spawn("valgrind", ["--tool=callgrind", "--instr-atstart=no", "--smc-check=all-non-file", ...threads, `--callgrind-out-file=${out}`, process.execPath, ...perfMap, ...cmd], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", log, log]
  })
  try {
    const origin = `http://127.0.0.1:${port}`
    await waitUp(origin)
    const warmFailed = await send(origin, warmup)
    control(["-i", "on", String(proc.pid)])
    control(["-z", String(proc.pid)])
    const t0 = performance.now()
    const failed = await send(origin, requests)
    const ms = performance.now() - t0
    const dumped = control(["-d", String(proc.pid)])
    if (dumped.status !== 0) throw new Error(`callgrind_control -d failed: ${dumped.stderr}`)
    await new Promise((r) => setTimeout(r, 1_000))
    // the dump after the measured requests (`.out.N`, `.out.N-01` per thread with --main-thread: thread 1 is the main one)
    const files = Fs.readdirSync(logDir)
      .filter((f) => f.startsWith(`callgrind.${name}.out.`) && (!mainThread || f.endsWith("-01")))
      .sort((a, b) => Number(/\.out\.(\d+)/.exec(a)?.[1]) - Number(/\.out\.(\d+)/.exec(b)?.[1]))
    const file = Path.join(logDir, files[files.length - 1])
    const total = Number(/^(?:summary|totals): (\d+)/m.exec(Fs.readFileSync(file, "utf8"))?.[1] ?? Number.NaN)
    return { name, perRequest: total / requests, failed: failed + warmFailed, ms, file }
  } finally {
    proc.kill("SIGKILL")
  }
}

const main = async () => {
  installExitHooks()
  const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-instructions-"))
  process.stdout.write(`logs in ${logDir}\n`)
  const upstreamUrl = await startUpstream(logDir)
  // All at once: on a machine shared with other work, each valgrind gets its own share of it.
  const runs: Array<Promise<{ name: string; perRequest: number; failed: number; ms: number; file: string }>> = []
  if (argv.includes("--raw")) {
    const port = await freePort()
    const script = Path.join(benchDir, "src/competitors/rawProxy.ts")
    runs.push(measure("raw", [script, JSON.stringify({ upstream: upstreamUrl, port })], benchDir, port, logDir))
  }
  if (argv.includes("--json")) {
    const port = await freePort()
    const script = Path.join(benchDir, "src/competitors/jsonProxy.ts")
    runs.push(measure("json", [script, JSON.stringify({ upstream: upstreamUrl, port })], benchDir, port, logDir))
  }
  for (const [i, { dir: repo, flags, env }] of repos.entries()) {
    const port = await freePort()
    const config = Path.join(logDir, `gateway${i}.yaml`)
    Fs.writeFileSync(config, gatewayYaml(port, upstreamUrl, false, Path.join(logDir, `gateway${i}.db`)))
    runs.push(measure(`gateway${i}`, [...startFlags(repo), ...flags, gatewayScript(repo), "serve", "--config", config], repo, port, logDir, { ...startEnv(repo), ...env }))
  }
  const rows = await Promise.all(runs)
  for (const [i, { dir, flags }] of repos.entries()) process.stdout.write(`gateway${i}: ${dir} ${[...startFlags(dir), ...flags].join(" ")} ${Object.entries(repos[i].env).map(([k, v]) => `${k}=${v}`).join(" ")}\n`)
  process.stdout.write(`\n${mainThread ? "main thread only: " : ""}${requests} ${stream ? "streamed" : "JSON"}${toolCall ? " tool-call" : ""}${shape !== undefined ? ` ${shape}-shaped` : ""} requests, ${connections} connections, after ${warmup} warm-up\n`)
  for (const r of rows) process.stdout.write(`${r.name.padEnd(10)} ${Math.round(r.perRequest).toString().padStart(12)} instr/request  (${r.failed} failed, ${(r.ms / 1000).toFixed(1)} s under valgrind)\n`)
  if (jitNames > 0) {
    for (const r of rows) process.stdout.write(`\n${r.name}: instructions per request by function (top ${jitNames})\n${topFunctions(r.file, requests, jitNames)}\n`)
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
