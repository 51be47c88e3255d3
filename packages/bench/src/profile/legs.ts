/**
 * Where a proxy's added latency falls at a fixed rate: the way in (client send → upstream has the
 * whole request) and the way out (upstream wrote its answer → client has the last byte), for
 * direct, the raw proxy and the gateway, at one request every `--interval-ms` (5 = the bench's
 * 200 req/s). The client and a minimal upstream (the bench's `bench-fast` JSON answer) share this
 * process on core 1 and one clock (`process.hrtime`); each subject runs on core 0, measured in
 * turn, `--rounds` times interleaved after a closed-loop warm-up.
 *
 *   node src/profile/legs.ts [--repo "DIR [--node-flag] [NAME=value]"]… [--requests N] [--rounds N] [--interval-ms N]
 *                            [--burst N]     (N closed-loop requests at c16 right before each paced trial, as in the bench)
 *                            [--idle-ms N]   (a pause between that burst and the trial)
 *                            [--json]        (the JSON proxy as a subject too)
 *                            [--threads]     (CPU ms of each thread of a subject's process per paced trial)
 *                            [--perf NAME]   (`perf record -g` of subject NAME's paced trials: perf.ROUND.data in the log folder;
 *                                             start the gateway with --perf-basic-prof for JS names)
 *
 * Prints the median and p90 of each leg in µs, and each subject's legs minus direct's.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Pool } from "undici"
import { chatBody } from "../Competitors.ts"
import { completionJson } from "../upstream/Upstream.ts"
import { freePort, installExitHooks, spawnNode, waitReady } from "../procs/Processes.ts"
import { all, benchDir, flag, num, repos as repoArgs, sendChats, startGatewayFrom, threadStats } from "./args.ts"

const requests = num("--requests", 1_000)
const rounds = num("--rounds", 3)
const intervalMs = num("--interval-ms", 5)
/** Closed-loop requests (c16) sent to a subject right before each of its paced trials, as the bench's saturation trials precede its paced ones. */
const burst = num("--burst", 0)
/** A pause after the burst (the bench's paced trial of a subject comes ~10 s after its saturation trial). */
const idleMs = num("--idle-ms", 0)
const now = () => Number(process.hrtime.bigint()) / 1000 // µs

/** When the upstream had each request's body, and when it ended its answer, by request id. */
const arrived = new Map<string, number>()
const answered = new Map<string, number>()

const usage = { prompt_tokens: 6, completion_tokens: 18, total_tokens: 24 }

const startTimedUpstream = (): Promise<string> => {
  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const t = now()
      // the request's id rides in its message (a proxy forwards no unknown header)
      const id = /probe-[\w-]+/.exec(Buffer.concat(chunks).toString())?.[0]
      const json = completionJson("chatcmpl-legs", Math.floor(Date.now() / 1000), "bench-fast", usage)
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
      res.end(json)
      if (id !== undefined) {
        arrived.set(id, t)
        answered.set(id, now())
      }
    })
  })
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
}

interface Legs {
  readonly inbound: Array<number>
  readonly outbound: Array<number>
  readonly total: Array<number>
}

/** `requests` requests `intervalMs` apart (open loop), each timed per leg. */
const paced = async (origin: string, headers: Record<string, string>, tag: string): Promise<Legs> => {
  const pool = new Pool(origin, { connections: 4 })
  const legs: Legs = { inbound: [], outbound: [], total: [] }
  const one = async (i: number) => {
    const id = `probe-${tag}-${i}`
    const body = chatBody("bench-fast", false, `Say hello to the benchmark, please: ${id}`)
    const t0 = now()
    const res = await pool.request({ path: "/v1/chat/completions", method: "POST", headers, body })
    await res.body.text()
    const t3 = now()
    const t1 = arrived.get(id)
    const t2 = answered.get(id)
    if (res.statusCode !== 200 || t1 === undefined || t2 === undefined) throw new Error(`${tag}: request ${i} answered ${res.statusCode}`)
    legs.inbound.push(t1 - t0)
    legs.outbound.push(t3 - t2)
    legs.total.push(t3 - t0)
    arrived.delete(id)
    answered.delete(id)
  }
  const pending: Array<Promise<void>> = []
  const start = now()
  for (let i = 0; i < requests; i++) {
    const wait = start + i * intervalMs * 1000 - now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait / 1000))
    pending.push(one(i))
  }
  await Promise.all(pending)
  await pool.close()
  return legs
}

const quantile = (xs: ReadonlyArray<number>, q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]

const main = async () => {
  installExitHooks()
  const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-legs-"))
  const upstream = await startTimedUpstream()
  const subjects: Array<{ name: string; origin: string; pid?: number; spawnedAt?: number }> = [{ name: "direct", origin: upstream }]
  // the raw proxy always; --json: the JSON proxy too (parses both bodies, undici Pool upstream: the floor for a proxy that reads them)
  for (const [name, script] of [["raw", "rawProxy.ts"], ...(flag("--json") ? [["json", "jsonProxy.ts"]] : [])]) {
    const port = await freePort()
    const child = await waitReady(spawnNode({ name, cpu: 0, script: Path.join(benchDir, "src/competitors", script), args: [JSON.stringify({ upstream, port })], logDir }))
    subjects.push({ name, origin: `http://127.0.0.1:${port}`, pid: child.pid })
  }
  for (const [i, repo] of repoArgs().entries()) {
    const { child, origin } = await startGatewayFrom(repo, `gateway${i}`, upstream, logDir, 0)
    subjects.push({ name: `gateway${i}`, origin, pid: child.pid, spawnedAt: child.spawnedAt })
  }
  const headers = { "content-type": "application/json", authorization: "Bearer sk-bench" }
  for (const s of subjects) if (s.name !== "direct") await sendChats(s.origin, 20_000, 16, chatBody("bench-fast", false))
  arrived.clear()
  answered.clear()
  const results = new Map<string, Array<Legs>>()
  const perfOf = subjects.find((s) => s.name === all("--perf")[0])
  for (let r = 0; r < rounds; r++) {
    for (const s of subjects) {
      if (burst > 0 && s.name !== "direct") await sendChats(s.origin, burst, 16, chatBody("bench-fast", false))
      if (idleMs > 0) await new Promise((res) => setTimeout(res, idleMs))
      const before = s.pid === undefined ? [] : threadStats(s.pid)
      const startedAt = Date.now()
      const perf = s !== perfOf || s.pid === undefined ? undefined : spawn("perf", ["record", "-F", "9999", "-g", "-p", String(s.pid), "-o", Path.join(logDir, `perf.${r}.data`)], { stdio: "ignore" })
      if (perf !== undefined) await new Promise((res) => setTimeout(res, 300))
      results.set(s.name, [...(results.get(s.name) ?? []), await paced(s.origin, headers, `${s.name}-${r}`)])
      perf?.kill("SIGINT")
      if (perf !== undefined) await new Promise((res) => perf.once("exit", res))
      if (s.pid !== undefined && flag("--threads")) {
        const after = threadStats(s.pid)
        const busy = after.map((t) => {
          const b = before.find((x) => x.tid === t.tid)
          return `${t.name}:${((t.user + t.sys - (b === undefined ? 0 : b.user + b.sys)) / 1000).toFixed(0)}`
        }).filter((x) => !x.endsWith(":0"))
        const window = s.spawnedAt === undefined ? "" : ` (paced ${startedAt - s.spawnedAt}–${Date.now() - s.spawnedAt} ms after its start)`
        process.stdout.write(`${s.name} round ${r}${window} CPU ms by thread: ${busy.join(" ")}\n`)
      }
    }
  }
  const leg = (name: string, k: keyof Legs, q: number) => quantile(results.get(name)!.flatMap((l) => l[k]), q)
  process.stdout.write(`${requests} requests ${intervalMs} ms apart × ${rounds} rounds; µs, median (p90); "over direct" = the subject's median minus direct's\n`)
  process.stdout.write(`${"".padEnd(10)} ${"in".padStart(16)} ${"out".padStart(16)} ${"total".padStart(16)}   ${"in over direct".padStart(15)} ${"out over direct".padStart(15)}\n`)
  for (const s of subjects) {
    const cell = (k: keyof Legs) => `${leg(s.name, k, 0.5).toFixed(0)} (${leg(s.name, k, 0.9).toFixed(0)})`.padStart(16)
    const over = (k: keyof Legs) => (leg(s.name, k, 0.5) - leg("direct", k, 0.5)).toFixed(0).padStart(15)
    process.stdout.write(`${s.name.padEnd(10)} ${cell("inbound")} ${cell("outbound")} ${cell("total")}   ${over("inbound")} ${over("outbound")}\n`)
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
