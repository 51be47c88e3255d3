/**
 * CPU per non-streamed request of the gateway pinned to one core, fresh and after a burst of
 * long-lived streams, per thread (main, V8's GC helpers, the ledger's writer): how a gateway runs
 * once traffic has held many streams open. Found with it: V8's allocation-site pretenuring, after
 * 1,000 streams held for seconds, kept the request path allocating in the old generation, +30 %
 * CPU per request until restart (notes/operations.md "Heap sizing").
 *
 *   node src/profile/afterBurst.ts [--repo "DIR [--node-flag …]"]… [--rounds N] [--burst N] [--requests N] [--warmup N]
 *
 * Each `--repo` is measured twice per round, fresh and with `--burst` streams of `bench-hold`
 * opened at once right after start; then `--warmup` requests (text, streamed, tool-call and
 * multi-part bodies, then text), then 3 × `--requests` text requests at c16, whose CPU (from
 * /proc, every thread of the process) is divided by the requests. This process and the upstream
 * run on the other core. Medians over the samples.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { chatBody, shapedBodies, startFlags } from "../Competitors.ts"
import { hold } from "../loadgen/runJobs.ts"
import { installExitHooks } from "../procs/Processes.ts"
import { num, repos as repoArgs, sendChats, startGatewayFrom, startUpstream, threadStats } from "./args.ts"

const repos = repoArgs()
const rounds = num("--rounds", 2)
const burst = num("--burst", 1_000)
const requests = num("--requests", 10_000)
const warmup = num("--warmup", 20_000)

installExitHooks()
const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-after-burst-"))
const upstream = await startUpstream(logDir)

/** CPU µs by thread name (V8's helpers are several threads of one name) of process `pid`. */
const threadCpu = (pid: number): Map<string, number> => {
  const out = new Map<string, number>()
  for (const t of threadStats(pid)) out.set(t.name, (out.get(t.name) ?? 0) + t.user + t.sys)
  return out
}

const text = chatBody("bench-fast", false, "Classify this alert please.")
type Sample = { readonly total: number; readonly threads: Map<string, number> }
const results = new Map<string, Array<Sample>>()

for (let round = 0; round < rounds; round++) {
  for (const [i, repo] of repos.entries()) {
    for (const withBurst of [false, true]) {
      const label = `gateway${i}${withBurst ? ` after ${burst} streams` : " fresh"}`
      const { child, origin } = await startGatewayFrom(repo, `gateway${i}-${round}-${withBurst}`, upstream, logDir, 0)
      if (withBurst) {
        const target = { origin, path: "/v1/chat/completions", headers: { "content-type": "application/json" } }
        await hold({ kind: "hold", target, body: chatBody("bench-hold", true), count: burst, timeoutMs: 30_000 }, () => undefined)
      }
      const shaped = shapedBodies("bench-fast")
      for (const body of [text, chatBody("bench-fast", true), shaped.tools, shaped.parts]) await sendChats(origin, warmup / 8, 16, body)
      await sendChats(origin, warmup / 2, 16, text)
      for (let k = 0; k < 3; k++) {
        const before = threadCpu(child.pid)
        await sendChats(origin, requests, 16, text)
        const after = threadCpu(child.pid)
        const threads = new Map([...after].map(([name, us]) => [name, (us - (before.get(name) ?? 0)) / requests]))
        const samples = results.get(label) ?? []
        samples.push({ total: [...threads.values()].reduce((a, b) => a + b, 0), threads })
        results.set(label, samples)
      }
      child.kill()
    }
  }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
process.stdout.write(`${requests} text requests × 3 × ${rounds} rounds, c16, gateway pinned to core 0; µs CPU per request (median), by thread\n`)
for (const [i, repo] of repos.entries()) process.stdout.write(`gateway${i}: ${repo.dir} ${[...startFlags(repo.dir), ...repo.flags].join(" ")}\n`)
for (const [label, samples] of results) {
  const names = [...new Set(samples.flatMap((s) => [...s.threads.keys()]))]
  const byThread = names
    .map((n) => [n, median(samples.map((s) => s.threads.get(n) ?? 0))] as const)
    .filter(([, us]) => us >= 0.5)
    .map(([n, us]) => `${n} ${us.toFixed(1)}`)
  process.stdout.write(`${label.padEnd(32)} ${median(samples.map((s) => s.total)).toFixed(1).padStart(6)}  (${byThread.join(", ")})\n`)
}
process.exit(0)
