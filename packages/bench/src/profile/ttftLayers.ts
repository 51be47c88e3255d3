/**
 * Time to the first chunk of a streamed answer, in process, per layer: a bare undici dispatch
 * (first SSE bytes), the OpenAI client's `stream`, `ModelRouter.stream`, `LLMManager.generateStream`
 * (tracer off, validated, as the server calls it). Sequential streams, interleaved per round;
 * medians of wall time (µs). The upstream (20 chunks, 2 ms apart) runs in its own process.
 *
 *   node src/profile/ttftLayers.ts [--rounds N] [--per N]
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { Context, Effect, Stream } from "effect"
import { type Dispatcher, Pool } from "undici"
import { spawnNode, waitReady } from "../procs/Processes.ts"
import { installExitHooks } from "../procs/Processes.ts"
import { buildBenchGateway, messages } from "./inProcessGateway.ts"

const argv = process.argv.slice(2)
const opt = (name: string, d: number) => {
  const i = argv.indexOf(name)
  return i >= 0 ? Number(argv[i + 1]) : d
}
const rounds = opt("--rounds", 5)
const per = opt("--per", 400)

installExitHooks()
const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-ttft-"))
const up = await waitReady(spawnNode({
  name: "upstream",
  cpu: 1,
  script: Path.join(import.meta.dirname, "../upstream/main.ts"),
  args: [JSON.stringify({ chunks: 20, chunkIntervalMs: 2, holdIntervalMs: 100 })],
  logDir
}))
const upstream = `http://127.0.0.1:${up.port}`
const ctx = await buildBenchGateway(upstream)
const pool = new Pool(upstream, { connections: 4 })
const body = JSON.stringify({ model: "bench-stream", messages, max_tokens: 64, stream: true })
const bare = () =>
  new Promise<number>((resolve, reject) => {
    const t0 = performance.now()
    let first = -1
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => {},
      onResponseStart: () => {},
      onResponseData: () => void (first < 0 && (first = performance.now() - t0)),
      onResponseEnd: () => resolve(first),
      onResponseError: (_c, e) => reject(e)
    }
    pool.dispatch({ method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, body }, handler)
  })
const client = Context.get(ctx, ModelClients).get("bench")!
const router = Context.get(ctx, ModelRouter)
const manager = Context.get(ctx, LLMManager)
const sreq = { model: "bench-stream", messages, preferences: { maxTokens: 64 }, cache: false }
const timed = <E>(s: Stream.Stream<unknown, E>) => {
  const t0 = performance.now()
  let first = -1
  return Effect.runPromise(Effect.withTracerEnabled(Stream.runForEach(s, () => Effect.sync(() => void (first < 0 && (first = performance.now() - t0)))), false)).then(() => first)
}
const layers: Record<string, () => Promise<number>> = {
  bare,
  client: () => timed(client.stream({ model: "bench-stream", messages, maxTokens: 64 })),
  router: () => timed(router.stream(sreq)),
  manager: () => timed(manager.generateStream(sreq, { validated: true }))
}
const results: Record<string, Array<number>> = Object.fromEntries(Object.keys(layers).map((k) => [k, []]))
for (const f of Object.values(layers)) for (let i = 0; i < 300; i++) await f()
for (let r = 0; r < rounds; r++) {
  for (const [k, f] of Object.entries(layers)) for (let i = 0; i < per; i++) results[k].push(await f())
}
const med = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
let prev: number | undefined
for (const [k, xs] of Object.entries(results)) {
  const m = med(xs) * 1000
  process.stdout.write(`${k.padEnd(8)} ${m.toFixed(0).padStart(6)} µs${prev === undefined ? "" : `   +${(m - prev).toFixed(0)}`}\n`)
  prev = m
}
process.exit(0)
