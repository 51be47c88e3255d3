/**
 * Child entry: the in-process benchmarks (mitata), pinned to the system-under-test core while the
 * upstream answers from the other one.
 * - `manager.generate` (cache off) against the bare `openai` SDK call on the same upstream, with
 *   the SDK's default fetch and with an undici Agent, and against a bare undici request (the floor);
 * - `ModelRouter.plan` (candidates computed, no I/O) on a three-provider config;
 * - an L1 hit: `manager.generate` with the cache on and the answer cached, and
 *   `CacheService.getOrCompute` alone.
 * Settings (argv JSON): `{ upstream: "http://127.0.0.1:N", quick: boolean }`. Result over IPC.
 */
import { CacheService } from "@llm-gateway/core/cache/CacheService"
import type { LLMRequest } from "@llm-gateway/core/domain/Domain"
import { type GatewayConfigInput, loadConfig } from "@llm-gateway/core/config/LLMConfig"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { builtinProviders } from "llm-gateway/BuiltinProviders"
import { gatewayLayer } from "llm-gateway/GatewayLayer"
import { measure } from "mitata"
import OpenAI, { type ClientOptions } from "openai"
import { Agent, fetch as undiciFetch, Pool } from "undici"
import { exitWithParent, settings } from "../procs/child.ts"
import { spread } from "../stats.ts"
import type { InProcessResult, MicroResult, MicroRound } from "./result.ts"

const { upstream, quick, rounds: settingsRounds = 1 } = settings<{ upstream: string; quick: boolean; rounds?: number }>()
exitWithParent()

const scope = Effect.runSync(Scope.make())
const inScope = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Scope.provide(scope)(effect))

const benchConfig = (cache: boolean): GatewayConfigInput => ({
  providers: [{
    name: "bench",
    type: "openai-compatible",
    baseUrl: `${upstream}/v1`,
    apiKey: "sk-bench",
    models: [{ id: "bench-fast", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
  }],
  routing: { fallbackOrder: ["bench/bench-fast"] },
  cache: { enabled: cache, ttlSeconds: 3600, maxSize: 1000 },
  conversations: { store: "memory" }
})

/** A realistic routing table: three providers, a task list, the balanced strategy. */
const routingConfig: GatewayConfigInput = {
  providers: [
    {
      name: "openai",
      type: "openai",
      apiKey: "sk-x",
      models: [
        { id: "gpt-4o-mini", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 },
        { id: "gpt-4o", contextWindow: 128000, inputCostPer1M: 2.5, outputCostPer1M: 10 }
      ]
    },
    {
      name: "anthropic",
      type: "anthropic",
      apiKey: "sk-ant-x",
      models: [
        { id: "claude-3-haiku-20240307", contextWindow: 200000, inputCostPer1M: 0.25, outputCostPer1M: 1.25 },
        { id: "claude-3-5-sonnet-20241022", contextWindow: 200000, inputCostPer1M: 3, outputCostPer1M: 15 }
      ]
    },
    { name: "local", type: "ollama", baseUrl: "http://127.0.0.1:11434", models: [{ id: "llama3.1", contextWindow: 8192 }] }
  ],
  routing: {
    strategy: "balanced",
    tasks: { analysis: ["anthropic/claude-3-haiku-20240307", "openai/gpt-4o-mini", "local/llama3.1"] },
    fallbackOrder: ["openai/gpt-4o-mini", "anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o"]
  },
  conversations: { store: "memory" }
}

const messages = [
  { role: "system" as const, content: "You classify infrastructure alerts." },
  { role: "user" as const, content: "CPU on db-1 at 97% for 10 minutes; replication lag 40 s. Severity?" }
]

// Each benchmark runs `rounds` times, interleaved with the others (as the HTTP scenarios are),
// so a noisy neighbour on the machine hits every benchmark alike.
const rounds = Math.max(1, settingsRounds)
const opts = quick
  ? { min_cpu_time: 150e6, max_samples: 5_000, warmup_samples: 50 }
  : { min_cpu_time: 400e6, max_samples: 50_000, warmup_samples: 200 }

const benches: Array<{ readonly name: string; readonly fn: () => unknown }> = []
const add = (name: string, fn: () => unknown) => benches.push({ name, fn })

const runAll = async (): Promise<Array<MicroResult>> => {
  // Warm connections and JIT outside the measurement.
  for (const b of benches) for (let i = 0; i < (quick ? 50 : 300); i++) await b.fn()
  const perRound = new Map<string, Array<MicroRound>>()
  for (let r = 0; r < rounds; r++) {
    for (const b of benches) {
      const s = await measure(b.fn, opts)
      const list = perRound.get(b.name) ?? []
      list.push({ avgUs: s.avg / 1e3, p50Us: s.p50 / 1e3, p99Us: s.p99 / 1e3, minUs: s.min / 1e3, samples: s.samples.length })
      perRound.set(b.name, list)
    }
  }
  return benches.map((b) => {
    const list = perRound.get(b.name) ?? []
    const med = (f: (x: MicroRound) => number) => spread(list.map(f)).median
    return {
      name: b.name,
      avgUs: med((x) => x.avgUs),
      p50Us: med((x) => x.p50Us),
      p99Us: med((x) => x.p99Us),
      minUs: Math.min(...list.map((x) => x.minUs)),
      samples: list.reduce((a, x) => a + x.samples, 0),
      rounds: list
    }
  })
}

const main = async (): Promise<InProcessResult> => {
  const body = { model: "bench-fast", messages, max_tokens: 64 }
  const sdkDefault = new OpenAI({ apiKey: "sk-bench", baseURL: `${upstream}/v1`, maxRetries: 0, logLevel: "off" })
  const agent = new Agent({ keepAliveTimeout: 30_000 })
  const sdkUndici = new OpenAI({
    apiKey: "sk-bench",
    baseURL: `${upstream}/v1`,
    maxRetries: 0,
    logLevel: "off",
    fetch: undiciFetch as unknown as typeof globalThis.fetch,
    fetchOptions: { dispatcher: agent } as unknown as ClientOptions["fetchOptions"]
  })
  const off = await inScope(Layer.build(gatewayLayer({ config: benchConfig(false) })))
  const on = await inScope(Layer.build(gatewayLayer({ config: benchConfig(true) })))
  const managerOff = Context.get(off, LLMManager)
  const managerOn = Context.get(on, LLMManager)
  const cache = Context.get(on, CacheService)

  const req: LLMRequest = { model: "bench-fast", messages, preferences: { maxTokens: 64 } }
  const reqNoCache: LLMRequest = { ...req, cache: false }

  // The floor for any client: one undici request and JSON.parse, no SDK. The gateway's OpenAI
  // client may skip the SDK on its pass-through path, so its own cost is measured against this.
  const pool = new Pool(upstream, { connections: 16 })
  const bodyText = JSON.stringify(body)
  add("bare HTTP (undici Pool + JSON.parse)", async () => {
    const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, body: bodyText })
    return JSON.parse(await res.body.text())
  })
  add("bare SDK, default fetch", () => sdkDefault.chat.completions.create(body))
  add("bare SDK, undici Agent fetch", () => sdkUndici.chat.completions.create(body))
  add("manager.generate, cache off", () => Effect.runPromise(managerOff.generate(reqNoCache)))

  // L1: the cache-on manager answers the same request from memory after the first call.
  add("manager.generate, L1 hit", () => Effect.runPromise(managerOn.generate(req)))
  const key = cache.key(req, { scope: "bench", candidates: ["bench/bench-fast"] })
  const cached = await Effect.runPromise(managerOn.generate(req))
  await Effect.runPromise(cache.set(key, cached))
  const compute = Effect.die("an L1 hit must not compute")
  add("CacheService.getOrCompute, L1 hit", () => Effect.runPromise(cache.getOrCompute(key, compute)))

  // Routing: plan only (no clients are called, so none are built).
  const config = await Effect.runPromise(loadConfig({ input: routingConfig, mergeEnv: false, providers: builtinProviders }))
  const router = await inScope(ModelRouter.make(config).pipe(Effect.provide(Layer.merge(ModelClients.layerFrom([]), ModelRouter.layerMemoryStores))))
  const routed: LLMRequest = { messages, taskType: "analysis" }
  add("ModelRouter.plan (runSync, 5 candidates)", () => Effect.runSync(router.plan(routed)))
  const planned = Effect.runSync(router.plan(routed))

  const micro = await runAll()
  await agent.close()
  await pool.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return { micro, planCandidates: planned.candidates.map((c) => c.ref) }
}

// Run by hand (no IPC channel), it prints the result instead.
const reply = (message: object, code: number) => {
  if (process.send === undefined) {
    process.stdout.write(`${JSON.stringify(message, null, 2)}\n`)
    process.exit(code)
  }
  process.send(message, () => process.exit(code))
}
main().then(
  (result) => reply({ type: "result", result }, 0),
  (error: unknown) => reply({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) }, 1)
)
