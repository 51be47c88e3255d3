/**
 * Speed of the embedded provider on the real stories260K model, through the client itself
 * (prompt rendering, pool, streaming and all):
 *
 *   pnpm exec node packages/llamacpp/test/measure.ts [threads=1] [runs=5]
 *
 * Prints first-token latency (request → first streamed delta), streamed generation speed
 * (completion tokens / time after the first token), non-streamed speed (tokens / whole request),
 * and the aggregate speed of two concurrent requests on one context and on two. Figures are
 * medians over `runs`.
 */
import { Effect, Stream } from "effect"
import { makeLlamaCppClient } from "../src/LlamaCppClient.ts"
import { MODEL, MODEL_PATH, providerConfig, request } from "./fixtures.ts"

const threads = Number(process.argv[2] ?? 1)
const runs = Number(process.argv[3] ?? 5)
const TOKENS = 256

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (n: number, digits = 1) => n.toFixed(digits)

const streamed = (client: Effect.Success<ReturnType<typeof makeLlamaCppClient>>) =>
  Effect.gen(function*() {
    const start = performance.now()
    let first: number | undefined
    const chunks = yield* Stream.runCollect(
      client.stream(request({ maxTokens: TOKENS })).pipe(
        Stream.tap(() => Effect.sync(() => (first ??= performance.now())))
      )
    )
    const end = performance.now()
    const tokens = chunks[chunks.length - 1].usage?.completionTokens ?? 0
    return { firstTokenMs: (first ?? end) - start, tokensPerSecond: (tokens - 1) / ((end - (first ?? end)) / 1000) }
  })

const concurrent = (contexts: number) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* makeLlamaCppClient(providerConfig({ threads, contexts }))
    yield* client.generate(request({ maxTokens: 4 }))
    const samples: Array<number> = []
    for (let i = 0; i < runs; i++) {
      const start = performance.now()
      const answers = yield* Effect.all(
        [client.generate(request({ maxTokens: TOKENS })), client.generate(request({ maxTokens: TOKENS }))],
        { concurrency: "unbounded" }
      )
      const tokens = answers.reduce((n, a) => n + a.usage.completionTokens, 0)
      samples.push(tokens / ((performance.now() - start) / 1000))
    }
    return median(samples)
  }))

const program = Effect.scoped(Effect.gen(function*() {
  const buildStart = performance.now()
  const client = yield* makeLlamaCppClient(providerConfig({ threads }))
  const loadStart = performance.now()
  // The first request pays for importing node-llama-cpp, the binding and the model load.
  const cold = yield* streamed(client)
  const coldMs = performance.now() - loadStart
  const warm: Array<{ firstTokenMs: number; tokensPerSecond: number }> = []
  for (let i = 0; i < runs; i++) warm.push(yield* streamed(client))
  const plain: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    const res = yield* client.generate(request({ maxTokens: TOKENS }))
    plain.push(res.usage.completionTokens / ((performance.now() - start) / 1000))
  }
  const oneContext = yield* concurrent(1)
  const twoContexts = yield* concurrent(2)

  const rows = [
    ["model", `${MODEL} (${MODEL_PATH})`],
    ["threads", String(threads)],
    ["client build (file check)", `${fmt(loadStart - buildStart, 2)} ms`],
    ["first request, cold (import + binding + load + 256 tokens)", `${fmt(coldMs, 0)} ms`],
    ["first-token latency, cold", `${fmt(cold.firstTokenMs)} ms`],
    [`first-token latency, warm (median of ${runs})`, `${fmt(median(warm.map((w) => w.firstTokenMs)), 2)} ms`],
    [`streamed generation after the first token (median of ${runs}, ${TOKENS} tokens)`, `${fmt(median(warm.map((w) => w.tokensPerSecond)), 0)} tokens/s`],
    [`generate (not streamed), one request (median of ${runs})`, `${fmt(median(plain), 0)} tokens/s`],
    ["two concurrent requests, contexts: 1 (queued)", `${fmt(oneContext, 0)} tokens/s total`],
    ["two concurrent requests, contexts: 2 (batched)", `${fmt(twoContexts, 0)} tokens/s total`]
  ]
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`)
}))

await Effect.runPromise(program)
