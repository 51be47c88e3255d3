/**
 * Streaming through the chain. An attempt is "open the upstream stream and receive its first
 * chunk" of any kind (text, reasoning or a tool call's first fragment): until then a failure is an ordinary attempt failure (retried or failed over, the
 * caller sees nothing). After the first chunk the answer is committed to that model, and a
 * failure ends the stream with the typed error — never a silently truncated success — and
 * counts against the model's circuit.
 *
 * Each attempt's upstream stream lives in its own child scope of the caller's stream: a failed
 * attempt's scope is closed at once (the provider aborts its HTTP request), the winner's when
 * the caller's stream ends or is interrupted.
 *
 * `routing.timeoutMs` bounds the time to the first chunk (a long answer may stream for
 * longer); between two chunks `attemptTimeoutMs` bounds a stall. A client that times itself
 * (`ModelClientShape.enforcesTimeout`) is handed both bounds (`timeoutMs`, `stallTimeoutMs`) and
 * keeps them; any other is raced here: a timer race for the opening and one for every pull.
 */
import { Cause, Channel, Clock, Effect, Exit, Pull, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Attempt, ProviderRequest, StreamChunk, Usage } from "../../domain/Domain.ts"
import { makeUsage } from "../../domain/Domain.ts"
import { type LLMError, TimeoutError, withAttempts } from "../../domain/LLMError.ts"
import type { ModelClientShape } from "../../providers/ModelClient.ts"
import { costOfUsage } from "../../accounting/Pricing.ts"
import type { Deployment } from "./Deployments.ts"
import { isTracing } from "../../metrics/GenAiSpans.ts"
import {
  type ChainContext,
  type ChainResult,
  type FirstAttempt,
  fusedBudget,
  fusedSucceeded,
  type Requested,
  runChain,
  timedAttempt
} from "./Executor.ts"
import * as Telemetry from "./Telemetry.ts"

export interface OpenedStream {
  readonly first: ReadonlyArray<StreamChunk>
  readonly pull: Pull.Pull<NonEmptyReadonlyArray<StreamChunk>, LLMError>
}

const noChunks: ReadonlyArray<StreamChunk> = []

/**
 * Opens one upstream stream in a child scope of `parent` and waits for its first chunk.
 * `toPullScoped`, not `Stream.toPull`: the latter re-provides the opening fiber's context and
 * takes a semaphore on every pull, which a stream with one consumer does not need.
 */
export const openStream = (client: ModelClientShape, req: ProviderRequest, parent: Scope.Scope) =>
  Effect.flatMap(Scope.fork(parent), (streamScope) =>
    Effect.flatMap(Channel.toPullScoped(Stream.toChannel(client.stream(req)), streamScope), (pull) =>
      Effect.map(
        Pull.catchDone(pull, () => Effect.succeed(noChunks)),
        (first): OpenedStream => ({ first, pull })
      )).pipe(
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(streamScope, exit)))
      ))

export interface StreamPlan {
  readonly ctx: ChainContext
  readonly candidates: ReadonlyArray<Deployment>
  readonly startedAt: number
  readonly promptTokens: number
  /** What the caller asked for (named by the error when every candidate fails). */
  readonly requested?: Requested | undefined
  readonly request: (d: Deployment) => ProviderRequest
  /** `extra` fields the deployment ignores: named on the first chunk. */
  readonly ignored?: ((d: Deployment) => ReadonlyArray<string> | undefined) | undefined
  readonly client: (d: Deployment) => Effect.Effect<ModelClientShape, LLMError>
  readonly onSettled: (d: Deployment, usage: Usage, costUsd: number) => Effect.Effect<void>
  readonly onFailed: (error: LLMError, startedAt: number) => Effect.Effect<void>
  /** Candidates the plan moved behind one for its health (see the Executor's option). */
  readonly passedOver?: ((d: Deployment) => ReadonlyArray<Attempt>) | undefined
  /** Provides the chain's random source (its backoff jitter). */
  readonly withRandom: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The deployment's client keeps the stream's time bounds itself (no race here). */
  readonly selfTimed?: ((d: Deployment) => boolean) | undefined
}

/** The request of one attempt on `d`: with its time bounds for a client that keeps them. */
const attemptRequest = (p: StreamPlan, d: Deployment, timeoutMs: number): ProviderRequest =>
  p.selfTimed?.(d) === true ? { ...p.request(d), timeoutMs, stallTimeoutMs: p.ctx.routing.attemptTimeoutMs } : p.request(d)

/** Opening through the chain; `first`: the fused first attempt, failed (Executor's option). */
const chainOpen = (p: StreamPlan, parent: Scope.Scope, first?: FirstAttempt<OpenedStream>) =>
  runChain(p.ctx, {
    candidates: p.candidates,
    startedAt: p.startedAt,
    tokens: p.promptTokens,
    requested: p.requested,
    passedOver: p.passedOver,
    first,
    call: (d, timeoutMs) => Effect.flatMap(p.client(d), (client) => openStream(client, attemptRequest(p, d, timeoutMs), parent)),
    selfTimed: p.selfTimed
  })

/**
 * The opening: the first candidate's first attempt made here when nothing needs the chain first
 * (Executor's `fusedBudget`; tracer off, as spans are the chain's), recorded as the chain records
 * one (`fusedSucceeded`); the chain otherwise, and with the fused attempt's failure as its first.
 */
const open = (p: StreamPlan, parent: Scope.Scope): Effect.Effect<ChainResult<OpenedStream>, LLMError> =>
  Effect.withFiber((fiber) => {
    const d = p.candidates[0]
    const clock = fiber.getRef(Clock.Clock)
    const t0 = clock.currentTimeMillisUnsafe()
    const timeoutMs = isTracing(fiber) ? undefined : fusedBudget(p.ctx, d, p.startedAt, t0)
    if (timeoutMs === undefined) return p.withRandom(chainOpen(p, parent))
    const opening = Effect.flatMap(p.client(d), (client) => openStream(client, attemptRequest(p, d, timeoutMs), parent))
    const attempt = p.selfTimed?.(d) === true ? opening : timedAttempt(d, timeoutMs, opening)
    return Effect.flatMap(Effect.exit(attempt), (exit): Effect.Effect<ChainResult<OpenedStream>, LLMError> => {
      if (!Exit.isSuccess(exit)) return p.withRandom(chainOpen(p, parent, { exit, startedAt: t0 }))
      const ms = clock.currentTimeMillisUnsafe() - t0
      const attempts = fusedSucceeded(fiber.context, p.ctx, d, ms, p.passedOver)
      return Effect.succeed({ value: exit.value, deployment: d, attempts, upstreamMs: ms })
    })
  })

/** The routed stream, opened (its first chunk in) before the effect succeeds. */
export const openRoute = (p: StreamPlan): Effect.Effect<Stream.Stream<StreamChunk, LLMError>, LLMError, Scope.Scope> =>
  Effect.gen(function*() {
    const parent = yield* Effect.scope
    const result = yield* open(p, parent).pipe(Effect.tapError((e) => p.onFailed(e, p.startedAt)))

    const d = result.deployment
    const openedAt = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const stallMs = p.ctx.routing.attemptTimeoutMs
    const ignoredFields = p.ignored?.(d)
    // the first chunk tells the caller how the stream came about: attempts, ignored fields
    const attempts: ReadonlyArray<Attempt> = result.attempts
    const opening = ignoredFields === undefined ? { attempts } : { attempts, ignoredFields }
    let first = true
    let usage: Usage | undefined
    let completionChars = 0
    let finishReason: StreamChunk["finishReason"]

    // One object per chunk (not one spread per added field): this runs for every delta.
    const decorate = (c: StreamChunk): StreamChunk => {
      completionChars += c.delta.length
      if (c.toolCallDeltas !== undefined) for (const t of c.toolCallDeltas) completionChars += t.argumentsDelta?.length ?? 0
      if (c.reasoningDelta !== undefined) completionChars += c.reasoningDelta.length
      if (c.finishReason !== undefined) finishReason = c.finishReason
      if (c.usage !== undefined) usage = c.usage
      const costUsd = c.usage !== undefined ? costOfUsage(d.entry, c.usage) : c.costUsd
      if (first) {
        first = false
        return costUsd === undefined
          ? { ...c, provider: d.provider, model: d.model, ...opening }
          : { ...c, provider: d.provider, model: d.model, ...opening, costUsd }
      }
      return costUsd === undefined
        ? { ...c, provider: d.provider, model: d.model }
        : { ...c, provider: d.provider, model: d.model, costUsd }
    }

    const stalled = () => new TimeoutError({ model: d.ref, timeoutMs: stallMs, message: `stream stalled for ${stallMs} ms` })
    // A race (two fibers and a timer) per pull, for a client that does not keep the stall bound
    // itself: ~12 % of a streamed answer's CPU with chunks 2 ms apart (notes/benchmarks.md)
    const upstream = p.selfTimed?.(d) === true
      ? result.value.pull
      : Effect.timeoutOrElse(result.value.pull, { duration: stallMs, orElse: () => Effect.fail(stalled()) })

    const decorateAll = (batch: ReadonlyArray<StreamChunk>): NonEmptyReadonlyArray<StreamChunk> => {
      const out = new Array<StreamChunk>(batch.length)
      for (let i = 0; i < batch.length; i++) out[i] = decorate(batch[i])
      return out as unknown as NonEmptyReadonlyArray<StreamChunk>
    }

    // the contract: the last chunk carries usage, finishReason and costUsd — if the upstream
    // sent none, the router closes the stream with an estimate rather than leave it missing
    const finish = Effect.suspend(() => {
      const final = usage ?? makeUsage(p.promptTokens, Math.ceil(completionChars / 4))
      const costUsd = costOfUsage(d.entry, final)
      return Effect.flatMap(p.onSettled(d, final, costUsd), (): Pull.Pull<NonEmptyReadonlyArray<StreamChunk>, LLMError> => {
        if (usage !== undefined) return Cause.done()
        const chunk: StreamChunk = {
          delta: "",
          provider: d.provider,
          model: d.model,
          usage: final,
          finishReason: finishReason ?? "unknown",
          costUsd,
          ...(first ? opening : {})
        }
        first = false
        return Effect.succeed([chunk])
      })
    })

    const failMidStream = (e: LLMError) =>
      Effect.gen(function*() {
        yield* p.ctx.breakers.recordFailure(d, e)
        yield* Telemetry.upstreamError(d, e._tag)
        const ms = (yield* Effect.clockWith((c) => c.currentTimeMillis)) - openedAt
        const s = p.ctx.state.get(d.ref)
        s.successes--
        s.errors++
        const failed = withAttempts(e, [...attempts, { model: d.ref, outcome: `${e._tag}:mid-stream`, ms }])
        yield* p.onFailed(failed, p.startedAt)
        return yield* Effect.fail(failed)
      })

    // One hand-written pull instead of a chain of stream operators (fromIterable, concat, map,
    // concat, catchCause): each operator is an Effect step per pull and closures per stream.
    // States: the first batch (already received while the chain ran), the upstream, the
    // closing chunk, done.
    let state: "first" | "upstream" | "finish" | "done" = result.value.first.length > 0 ? "first" : "finish"
    const onUpstream = {
      onSuccess: (batch: NonEmptyReadonlyArray<StreamChunk>) => Effect.succeed(decorateAll(batch)),
      onFailure: (cause: Cause.Cause<LLMError | Cause.Done>): Pull.Pull<NonEmptyReadonlyArray<StreamChunk>, LLMError> => {
        state = "done"
        if (Pull.isDoneCause(cause)) return finish
        const e = Cause.findErrorOption(cause as Cause.Cause<LLMError>)
        return e._tag === "Some" ? failMidStream(e.value) : Effect.failCause(cause as Cause.Cause<LLMError>)
      }
    }
    const pull: Pull.Pull<NonEmptyReadonlyArray<StreamChunk>, LLMError> = Effect.suspend(() => {
      switch (state) {
        case "first":
          state = "upstream"
          return Effect.succeed(decorateAll(result.value.first))
        case "upstream":
          return Effect.matchCauseEffect(upstream, onUpstream)
        case "finish":
          state = "done"
          return finish
        case "done":
          return Cause.done()
      }
    })
    return Stream.fromPull(Effect.succeed(pull))
  })
