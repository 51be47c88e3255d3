/**
 * The cost of one routing decision (candidates computed and ordered, no I/O).
 *
 *   pnpm exec node packages/core/test/router/plan.bench.ts
 *
 * Measures `router.plan(req)` inside one running fiber (as the server calls it) for each
 * strategy, over a config of 5 providers / 7 chat deployments with an alias group, a chat
 * history of 6 messages, and some latency history. Prints µs per decision (median of runs), and
 * the cost of a whole routed `generate` around a client that answers at once (the router's share
 * of the gateway overhead).
 */
import { Effect } from "effect"
import type { LLMRequest } from "../../src/domain/Domain.ts"
import { gatewayConfig, makeRouter, provider, scripted } from "./fixtures.ts"

const providers = [
  provider("claude", "anthropic", [
    { id: "claude-3-haiku-20240307", contextWindow: 200_000, inputCostPer1M: 0.25, outputCostPer1M: 1.25 },
    { id: "claude-3-5-sonnet-20241022", contextWindow: 200_000, inputCostPer1M: 3, outputCostPer1M: 15 }
  ]),
  provider("openai", "openai", [
    { id: "gpt-4o-mini", contextWindow: 128_000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 },
    { id: "text-embedding-3-small", embedding: true }
  ]),
  provider("vllm-a", "vllm", [{ id: "mixtral", alias: "mixtral", contextWindow: 32_000 }]),
  provider("vllm-b", "vllm", [{ id: "mixtral", alias: "mixtral", contextWindow: 32_000 }]),
  provider("ollama", "ollama", [{ id: "llama3.2", contextWindow: 8_192 }, { id: "qwen2.5", contextWindow: 32_000 }])
]

const messages = [
  { role: "system" as const, content: "You are an observability assistant. Answer briefly." },
  ...Array.from({ length: 5 }, (_, i) => ({
    role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
    content: `Message ${i}: the p99 latency of checkout rose from 180 ms to 2.4 s after the 14:05 deploy. `.repeat(4)
  }))
]

const N = 20_000
const RUNS = 7

const bench = Effect.gen(function*() {
  const { layer } = scripted(providers.map((p) => ({ provider: p.name })))
  const router = yield* makeRouter(gatewayConfig(providers, { loadBalancing: "least-latency" }), layer)
  // some latency history, so performance/balanced have numbers to sort
  for (let i = 0; i < 20; i++) yield* router.generate({ prompt: "warm up", taskType: i % 2 ? "analysis" : "general" })

  const results: Array<string> = []
  for (const strategy of ["balanced", "cost", "performance"] as const) {
    const req: LLMRequest = { messages, taskType: "analysis", preferences: { strategy, maxTokens: 400 } }
    for (let i = 0; i < 2_000; i++) yield* router.plan(req) // JIT warm-up
    const perRun: Array<number> = []
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now()
      for (let i = 0; i < N; i++) yield* router.plan(req)
      perRun.push(((performance.now() - t0) * 1000) / N)
    }
    perRun.sort((a, b) => a - b)
    const plan = yield* router.plan(req)
    results.push(
      `${strategy.padEnd(12)} median ${perRun[RUNS >> 1].toFixed(2)} µs  (min ${perRun[0].toFixed(2)}, max ${
        perRun[RUNS - 1].toFixed(2)
      })  ${plan.candidates.length} candidates`
    )
  }
  // the whole routed call around an instant client: plan, limits, breaker, timeout, metrics
  const req: LLMRequest = { messages, taskType: "analysis", preferences: { maxTokens: 400 } }
  for (let i = 0; i < 1_000; i++) yield* router.generate(req)
  const M = 5_000
  const perRun: Array<number> = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    for (let i = 0; i < M; i++) yield* router.generate(req)
    perRun.push(((performance.now() - t0) * 1000) / M)
  }
  perRun.sort((a, b) => a - b)
  results.push(`generate     median ${perRun[RUNS >> 1].toFixed(2)} µs per routed call around an instant client`)
  return results
})

const lines = await Effect.runPromise(Effect.scoped(bench))
console.log(`router.plan, ${N} decisions x ${RUNS} runs, node ${process.version}`)
for (const l of lines) console.log(`  ${l}`)
