/**
 * Instructions per call of each layer of a non-streamed generate, in process, under callgrind
 * (deterministic where wall-clock figures swing): a bare undici dispatch + JSON.parse (the floor),
 * the OpenAI ModelClient's `generate`, `ModelRouter.generate`, and `LLMManager.generate` (validated,
 * tracer off, as the HTTP server calls it), each against the bench upstream. The difference
 * between two rows is what that layer adds.
 *
 *   node src/profile/layers.ts [--calls N] [--warmup N] [--stream]     (spawns itself under valgrind, one layer each)
 *
 * `--stream`: the same layers for a streamed answer (20 chunks, sent at once), drained: the
 * client's `stream`, `ModelRouter.stream`, `LLMManager.generateStream` (the bare row stays the
 * non-streamed floor).
 *
 * `--library`: `LLMManager.generate` as a library caller runs it (`Effect.runPromise`, the request
 * validated by the manager, the tracer on), and an L1 hit of the same call (cache on).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { Context, Effect, Stream } from "effect"
import { type Dispatcher, Pool } from "undici"
import { installExitHooks } from "../procs/Processes.ts"
import { buildBenchGateway, messages } from "./inProcessGateway.ts"
import { startUpstream } from "./args.ts"

const argv = process.argv.slice(2)
const opt = (name: string, d: number) => {
  const i = argv.indexOf(name)
  return i >= 0 ? Number(argv[i + 1]) : d
}
const calls = opt("--calls", 2_000)
const streamed = argv.includes("--stream")
const warmup = opt("--warmup", 3_000)
const library = argv.includes("--library")
const LAYERS = library ? ["bare", "library", "l1"] as const : ["bare", "client", "router", "manager"] as const
type LayerName = "bare" | "client" | "router" | "manager" | "library" | "l1"

/** The child: one layer, measured between two callgrind toggles of its own process. */
const child = async (layer: LayerName, upstream: string) => {
  const ctx = await buildBenchGateway(upstream)
  const req = { model: "bench-fast", messages, preferences: { maxTokens: 64 }, cache: false }
  const quiet = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.withTracerEnabled(e, false))
  const pool = new Pool(upstream, { connections: 16 })
  const body = JSON.stringify({ model: "bench-fast", messages, max_tokens: 64 })
  const bare = () =>
    new Promise<unknown>((resolve, reject) => {
      const parts: Array<Buffer> = []
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: () => {},
        onResponseStart: () => {},
        onResponseData: (_c, chunk) => void parts.push(chunk),
        onResponseEnd: () => resolve(JSON.parse(Buffer.concat(parts).toString())),
        onResponseError: (_c, e) => reject(e)
      }
      pool.dispatch({ method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, body }, handler)
    })
  const client = Context.get(ctx, ModelClients).get("bench")!
  const router = Context.get(ctx, ModelRouter)
  const manager = Context.get(ctx, LLMManager)
  const sreq = { ...req, model: "bench-stream" }
  const drain = <E>(s: Stream.Stream<unknown, E>) => quiet(Stream.runDrain(s))
  const cached = library ? Context.get(await buildBenchGateway(upstream, { cache: true }), LLMManager) : undefined
  const one: Record<string, () => Promise<unknown>> = library
    ? {
      bare,
      library: () => Effect.runPromise(manager.generate({ ...req, cache: undefined })),
      l1: () => Effect.runPromise(cached!.generate({ ...req, cache: undefined }))
    }
    : streamed
    ? {
      bare,
      client: () => drain(client.stream({ model: "bench-stream", messages, maxTokens: 64 })),
      router: () => drain(router.stream(sreq)),
      manager: () => drain(manager.generateStream(sreq, { validated: true }))
    }
    : {
      bare,
      client: () => quiet(client.generate({ model: "bench-fast", messages, maxTokens: 64, timeoutMs: 10_000 })),
      router: () => quiet(router.generate(req)),
      manager: () => quiet(manager.generate(req, { validated: true }))
    }
  const f = one[layer]
  for (let i = 0; i < warmup; i++) await f()
  // callgrind_control is answered by valgrind while this process runs: wait for it without blocking
  const control = (args: ReadonlyArray<string>) =>
    new Promise((resolve) => spawn("callgrind_control", [...args, String(process.pid)], { stdio: "ignore" }).once("exit", resolve))
  await control(["-i", "on"])
  await control(["-z"])
  for (let i = 0; i < calls; i++) await f()
  await control(["-d"])
  process.exit(0)
}

const main = async () => {
  installExitHooks()
  const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-layers-"))
  const url = await startUpstream(logDir)
  const rows = await Promise.all((LAYERS as ReadonlyArray<LayerName>).map((layer) =>
    new Promise<{ layer: string; perCall: number }>((resolve, reject) => {
      const out = Path.join(logDir, `callgrind.${layer}.out`)
      const p = spawn("valgrind", ["--tool=callgrind", "--instr-atstart=no", "--smc-check=all-non-file", `--callgrind-out-file=${out}`, process.execPath, import.meta.filename, "--child", layer, url, "--calls", String(calls), "--warmup", String(warmup), ...(streamed ? ["--stream"] : []), ...(library ? ["--library"] : [])], { stdio: "ignore" })
      p.once("exit", () => {
        const files = Fs.readdirSync(logDir).filter((f) => f.startsWith(`callgrind.${layer}.out`)).sort()
        // the dump taken after the measured calls (`.out.N`), not the one written at exit
        const total = Math.max(...files.map((f) => Number(/^(?:summary|totals): (\d+)/m.exec(Fs.readFileSync(Path.join(logDir, f), "utf8"))?.[1] ?? 0)))
        resolve({ layer, perCall: total / calls })
      })
      p.once("error", reject)
    })
  ))
  process.stdout.write(`${calls} ${streamed ? "streams" : "calls"} per layer after ${warmup} warm-up (instructions per call; valgrind)\n`)
  let prev: number | undefined
  for (const r of rows) {
    process.stdout.write(`${r.layer.padEnd(8)} ${Math.round(r.perCall).toString().padStart(10)}${prev === undefined ? "" : `   +${Math.round(r.perCall - prev)}`}\n`)
    prev = r.perCall
  }
}

if (argv[0] === "--child") {
  void child(argv[1] as LayerName, argv[2])
} else {
  main().then(() => process.exit(0), (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
    process.exit(1)
  })
}
