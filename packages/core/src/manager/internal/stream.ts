/**
 * `generateStream`: a cache hit replays as a stream; otherwise the router's stream, with what
 * streams past collected so that a complete answer is cached and accounted after its last chunk.
 * A caller's `CallContext.observe` sees the batches and the end from the same stage.
 */
import { Cause, Effect, Exit, Option, Pull, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { CacheService, type CacheServiceShape } from "../../cache/CacheService.ts"
import { type LLMRequest, type LLMResponse, type StreamChunk, toolCallsOf } from "../../domain/Domain.ts"
import { StreamedParts } from "../../domain/StreamedParts.ts"
import type { InvalidRequest, LLMError } from "../../domain/LLMError.ts"
import { annotateParentSpan, isTracing, requestAttributes } from "../../metrics/GenAiSpans.ts"
import { answersNatively, type ModelRouterShape } from "../../routing/ModelRouter.ts"
import type { CallContext, StreamObserver } from "../CallContext.ts"
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

/**
 * The manager's one stage over a stream: `step` per batch and, for a caller's observer, its batches
 * and its end — the stream's own end (done, failed, or the consumer gone), which the scope a
 * consumer closes does not tell (an SSE writer that turns a failure into an error event closes
 * it as a success). A hand-written pull, so that observing adds no stage.
 */
const stage = (
  upstream: Stream.Stream<StreamChunk, LLMError>,
  step: ((batch: NonEmptyReadonlyArray<StreamChunk>) => Effect.Effect<NonEmptyReadonlyArray<StreamChunk>>) | undefined,
  observe: StreamObserver | undefined
): Stream.Stream<StreamChunk, LLMError> => {
  if (observe === undefined) return step === undefined ? upstream : Stream.mapArrayEffect(upstream, step)
  return Stream.transformPull(upstream, (pull, scope) => {
    let ended = false
    const end = (exit: Exit.Exit<unknown, LLMError>) => {
      if (ended) return Effect.void
      ended = true
      return observe.exit(exit)
    }
    const handlers = {
      onSuccess: (batch: NonEmptyReadonlyArray<StreamChunk>) => {
        observe.batch(batch)
        return step === undefined ? Effect.succeed(batch) : step(batch)
      },
      onFailure: (cause: Cause.Cause<LLMError | Cause.Done>): Pull.Pull<NonEmptyReadonlyArray<StreamChunk>, LLMError> =>
        Effect.andThen(end(Pull.isDoneCause(cause) ? Exit.void : Exit.failCause(cause as Cause.Cause<LLMError>)), Effect.failCause(cause))
    }
    // the consumer stopped reading or was interrupted before the end: the scope's exit says which
    return Effect.as(Scope.addFinalizerExit(scope, (exit) => end(exit)), Effect.matchCauseEffect(pull, handlers))
  })
}

export const makeGenerateStream = (deps: StreamDeps) => (req: LLMRequest, ctx?: CallContext): Stream.Stream<StreamChunk, LLMError> => {
  const observe = ctx?.observe
  const setup = makeStream(deps, req, ctx)
  // a request refused before it streams (invalid, no route) ends the stream too
  return Stream.unwrap(observe === undefined ? setup : Effect.tapCause(setup, (cause) => observe.exit(Exit.failCause(cause))))
}

const makeStream = ({ accept, cache, record, router, spans }: StreamDeps, req: LLMRequest, ctx: CallContext | undefined) =>
  Effect.gen(function*() {
    const observe = ctx?.observe
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
        return stage(CacheService.replayAsStream(hit.value), undefined, observe)
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
    const step = (batch: NonEmptyReadonlyArray<StreamChunk>) => {
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
    }
    const out = stage(upstream, step, observe)
    // the stream's span (tracing on only) covers it to the last chunk: routing, attempts, upstream
    return tracing
      ? Stream.withSpan(out, "LLMManager.generateStream", { captureStackTrace: false, attributes: requestAttributes("chat", spans.spanRequest(valid)) })
      : out
  })
