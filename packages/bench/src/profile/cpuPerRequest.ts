/**
 * CPU time per request, user and system apart, main thread apart from the process's other
 * threads (GC helpers, libuv pool), for the gateway and the raw proxy against the bench upstream.
 * Complements `instructions.ts` (callgrind counts user-space instructions only: it cannot see the
 * kernel's share of a loopback write nor cache misses) and reads /proc, so it runs at full speed.
 *
 *   node src/profile/cpuPerRequest.ts [--repo "DIR [--node-flag] [NAME=value]"]… [--raw] [--json] [--requests N] [--warmup N] [--connections C] [--stream]
 *                                    [--shapes]   (text, tool-call and multi-part bodies of one size, interleaved)
 *                                    [--chunked]  (with --stream: 20 chunks 2 ms apart, one socket write each, instead of one write)
 *                                     [--strace]   (then one more pass per competitor under `strace -c -f`: syscalls per request)
 *
 * Each competitor is measured alone (same upstream, same load loop), one after the other, `--rounds`
 * times interleaved; the figures are medians in µs per request.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { chatBody, shapedBodies } from "../Competitors.ts"
import { freePort, installExitHooks, spawnNode, waitReady } from "../procs/Processes.ts"
import { all, benchDir, num, repos as repoArgs, sendChats, startGatewayFrom, startUpstream, threadStats } from "./args.ts"

const argv = process.argv.slice(2)
const repos = repoArgs()
const requests = num("--requests", 20_000)
const warmup = num("--warmup", 5_000)
const connections = num("--connections", 16)
const rounds = num("--rounds", 3)
const stream = argv.includes("--stream")
/** utime/stime (µs) of every thread of `pid`, the main thread (tid = pid) apart. */
const threadTimes = (pid: number) => {
  const out = { mainUser: 0, mainSys: 0, otherUser: 0, otherSys: 0, faults: 0 }
  for (const t of threadStats(pid)) {
    out.faults += t.minorFaults
    if (t.tid === pid) {
      out.mainUser += t.user
      out.mainSys += t.sys
    } else {
      out.otherUser += t.user
      out.otherSys += t.sys
    }
  }
  return out
}

// --shapes: text, tool-call and multi-part bodies of one size (the bench's `shapes` scenario), interleaved
const bodies: ReadonlyArray<readonly [string, string]> = argv.includes("--shapes")
  ? Object.entries(shapedBodies("bench-fast"))
  : [["", chatBody(argv.includes("--chunked") ? "bench-stream" : "bench-fast", stream)]]
const send = (origin: string, n: number, body = bodies[0][1]) => sendChats(origin, n, connections, body)

const main = async () => {
  installExitHooks()
  const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-cpu-"))
  const upstreamUrl = await startUpstream(logDir, argv.includes("--chunked") ? 2 : 0)
  const subjects: Array<{ name: string; pid: number; origin: string }> = []
  // --raw: the raw node:http proxy; --json: the JSON proxy (parses and re-serializes both bodies)
  for (const [flag, name, script] of [["--raw", "raw", "rawProxy.ts"], ["--json", "json", "jsonProxy.ts"]] as const) {
    if (!argv.includes(flag)) continue
    const port = await freePort()
    const child = await waitReady(spawnNode({
      name,
      cpu: undefined,
      script: Path.join(benchDir, "src/competitors", script),
      args: [JSON.stringify({ upstream: upstreamUrl, port })],
      logDir
    }))
    subjects.push({ name, pid: child.pid, origin: `http://127.0.0.1:${port}` })
  }
  for (const [i, repo] of repos.entries()) {
    const { child, origin } = await startGatewayFrom(repo, `gateway${i}`, upstreamUrl, logDir)
    subjects.push({ name: `gateway${i}`, pid: child.pid, origin })
  }
  for (const s of subjects) for (const [, body] of bodies) await send(s.origin, warmup, body)
  const rows = new Map<string, Array<Record<string, number>>>()
  for (let r = 0; r < rounds; r++) {
    for (const s of subjects) {
      for (const [shape, body] of bodies) {
        const a = threadTimes(s.pid)
        const t0 = performance.now()
        await send(s.origin, requests, body)
        const ms = performance.now() - t0
        const b = threadTimes(s.pid)
        const per = (k: keyof typeof a) => (b[k] - a[k]) / requests
        const row = { mainUser: per("mainUser"), mainSys: per("mainSys"), otherUser: per("otherUser"), otherSys: per("otherSys"), faults: per("faults"), rps: requests / ms * 1000 }
        const name = shape === "" ? s.name : `${s.name}:${shape}`
        rows.set(name, [...(rows.get(name) ?? []), row])
      }
    }
  }
  if (argv.includes("--perf")) {
    // `perf record` of each competitor's main thread during one more pass (start it with --perf-basic-prof for JS names)
    for (const s of subjects) {
      const out = Path.join(logDir, `perf.${s.name}.data`)
      const rec = spawn("perf", ["record", "-F", "2999", "-g", "-t", String(s.pid), "-o", out], { stdio: "ignore" })
      await new Promise((r) => setTimeout(r, 500))
      await send(s.origin, requests)
      rec.kill("SIGINT")
      await new Promise((r) => rec.once("exit", r))
      process.stdout.write(`perf data: ${out}\n`)
    }
  }
  if (argv.includes("--strace")) {
    for (const s of subjects) {
      const out = Path.join(logDir, `strace.${s.name}.txt`)
      const tracer = spawn("strace", ["-c", "-f", "-o", out, "-p", String(s.pid)], { stdio: "ignore" })
      await new Promise((r) => setTimeout(r, 500))
      await send(s.origin, requests)
      tracer.kill("SIGINT")
      await new Promise((r) => tracer.once("exit", r))
      process.stdout.write(`\n${s.name}: syscalls per request (strace -c -f)\n`)
      for (const line of Fs.readFileSync(out, "utf8").split("\n")) {
        const f = line.trim().split(/\s+/)
        const calls = Number(f[3])
        if (f.length >= 5 && Number.isFinite(calls) && calls / requests >= 0.01) {
          process.stdout.write(`  ${f[f.length - 1].padEnd(16)} ${(calls / requests).toFixed(2)}\n`)
        }
      }
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  process.stdout.write(`${requests} ${stream ? "streamed" : "JSON"} requests × ${rounds} rounds, ${connections} connections; µs CPU per request (median)\n`)
  process.stdout.write(`${"".padEnd(16)} ${"main usr".padStart(9)} ${"main sys".padStart(9)} ${"other usr".padStart(9)} ${"other sys".padStart(9)} ${"total".padStart(9)} ${"req/s".padStart(8)} ${"faults/req".padStart(10)}\n`)
  for (const [name, rs] of rows) {
    const m = (k: string) => median(rs.map((x) => x[k]))
    const total = m("mainUser") + m("mainSys") + m("otherUser") + m("otherSys")
    process.stdout.write(`${name.padEnd(16)} ${[m("mainUser"), m("mainSys"), m("otherUser"), m("otherSys"), total].map((x) => x.toFixed(1).padStart(9)).join(" ")} ${m("rps").toFixed(0).padStart(8)} ${m("faults").toFixed(2).padStart(10)}\n`)
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
