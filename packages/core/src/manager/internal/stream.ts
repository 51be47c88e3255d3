/**
 * `generateStream`: a cache hit replays as a stream; otherwise the router's stream, with what
 * streams past collected so that a complete answer is cached and accounted after its last chunk.
 */
import { Effect, Option, Stream } from "effect"
import { CacheService, type CacheServiceShape } from "../../cache/CacheService.ts"
import { type LLMRequest, type LLMResponse, type StreamChunk, toolCallsOf } from "../../domain/Domain.ts"
import { StreamedParts } from "../../domain/StreamedParts.ts"
import type { InvalidRequest, LLMError } from "../../domain/LLMError.ts"
import { annotateParentSpan, isTracing, requestAttributes } from "../../metrics/GenAiSpans.ts"
import { answersNatively, type ModelRouterShape } from "../../routing/ModelRouter.ts"
import type { CallContext } from "../CallContext.ts"
import { streamChoices } from "./choices.ts"
import { keyOf } from "./generate.ts"
import type { Recorder } from "./record.ts"
import { DEFAULT_SCOPE } from "./requests.ts"
import type { SpanNaming } from "./spans.ts"

export interface StreamDeps {
  readonly router: ModelRouterShape
  readonly cache: CacheServiceShape
  readonly record: Recorder
  readonly spans: SpanNaming
  readonly accept: (req: LLMRequest, validated: boolean | undefined) => Effect.Effect<LLMRequest, InvalidRequest>
}

export const makeGenerateStream = ({ accept, cache, record, router, spans }: StreamDeps) =>
(req: LLMRequest, ctx?: CallContext): Stream.Stream<StreamChunk, LLMError> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const valid = yield* accept(req, ctx?.validated)
      const scope = ctx?.scope ?? DEFAULT_SCOPE
      const n = valid.n ?? 1
      // several streamed choices are not cached: a replay has one choice
      const useCache = valid.cache !== false && cache.enabled && n === 1
      const plan = useCache ? yield* router.plan(valid) : undefined
      // a pass-through request a candidate may answer natively is not cached (see generate)
      const key = plan !== undefined && !answersNatively(plan.candidates, ctx?.passthrough) ? keyOf(cache, valid, scope, plan) : undefined
      if (key !== undefined) {
        const hit = yield* cache.get(key)
        if (Option.isSome(hit)) {
          yield* record(valid, scope, { ...hit.value, cached: true })
          return CacheService.replayAsStream(hit.value)
        }
      }
      // Collect what streams past so a complete answer can be cached and accounted afterwards
      // (the text only when it will be cached: accounting needs no content).
      const keep = key !== undefined
      let content = ""
      let provider = ""
      let model = ""
      let ignoredFields: ReadonlyArray<string> | undefined
      const streamed = new StreamedParts()
      const started = Date.now()
      // Per batch, not per chunk: the bookkeeping is synchronous, and only the batch that
      // carries the last chunk runs an effect (cache write, accounting).
      const upstream = n > 1 ? streamChoices(valid, n, router.stream) : router.stream(valid, plan, ctx?.passthrough)
      const tracing = yield* Effect.withFiber((fiber) => Effect.succeed(isTracing(fiber)))
      const out = Stream.mapArrayEffect(upstream, (batch) => {
        let last: StreamChunk | undefined
        for (let i = 0; i < batch.length; i++) {
          const chunk = batch[i]
          if (keep && chunk.choiceIndex === undefined) {
            content += chunk.delta
            streamed.add(chunk)
          }
          if (chunk.provider !== undefined) provider = chunk.provider
          if (chunk.model !== undefined) model = chunk.model
          if (chunk.ignoredFields !== undefined) ignoredFields = chunk.ignoredFields
          if (chunk.usage !== undefined && chunk.finishReason !== undefined) last = chunk
        }
        if (last === undefined) return Effect.succeed(batch)
        const parts = streamed.parts(content)
        const response: LLMResponse = {
          content,
          provider,
          model,
          usage: last.usage!,
          costUsd: last.costUsd ?? 0,
          latencyMs: Date.now() - started,
          cached: false,
          finishReason: last.finishReason!,
          attempts: [],
          ...(ignoredFields !== undefined ? { ignoredFields } : {}),
          ...(parts !== undefined ? { parts, toolCalls: toolCallsOf(parts) } : {}),
          ...(last.stopSequence !== undefined ? { stopSequence: last.stopSequence } : {})
        }
        const save = key !== undefined ? cache.set(key, response) : Effect.void
        const done = Effect.andThen(save, record(valid, scope, response))
        return Effect.as(tracing ? Effect.andThen(annotateParentSpan(spans.genAiProvider(response), response), done) : done, batch)
      })
      // the stream's span (tracing on only) covers it to the last chunk: routing, attempts, upstream
      return tracing
        ? Stream.withSpan(out, "LLMManager.generateStream", { captureStackTrace: false, attributes: requestAttributes("chat", spans.spanRequest(valid)) })
        : out
    })
  )
