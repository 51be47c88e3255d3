/**
 * Streaming through the chain. An attempt is "open the upstream stream and receive its first
 * chunk": until then a failure is an ordinary attempt failure (retried or failed over, the
 * caller sees nothing). After the first chunk the answer is committed to that model, and a
 * failure ends the stream with the typed error — never a silently truncated success — and
 * counts against the model's circuit.
 *
 * Each attempt's upstream stream lives in its own child scope of the caller's stream: a failed
 * attempt's scope is closed at once (the provider aborts its HTTP request), the winner's when
 * the caller's stream ends or is interrupted.
 *
 * `routing.timeoutMs` bounds the time to the first chunk (a long answer may stream for
 * longer); between two chunks `attemptTimeoutMs` bounds a stall.
 */
import { Cause, Effect, Exit, Pull, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Attempt, ProviderRequest, StreamChunk, Usage } from "../../Domain.ts"
import { makeUsage } from "../../Domain.ts"
import { type LLMError, TimeoutError } from "../../LLMError.ts"
import type { ModelClientShape } from "../../ModelClient.ts"
import { costOfUsage } from "../../Pricing.ts"
import type { Deployment } from "./Catalog.ts"
import { type ChainContext, runChain } from "./Executor.ts"
import { withAttempts } from "./RetryPolicy.ts"
import * as Telemetry from "./Telemetry.ts"

export interface OpenedStream {
  readonly first: ReadonlyArray<StreamChunk>
  readonly pull: Pull.Pull<NonEmptyReadonlyArray<StreamChunk>, LLMError>
}

/** Opens one upstream stream in a child scope of `parent` and waits for its first chunk. */
export const openStream = (client: ModelClientShape, req: ProviderRequest, parent: Scope.Scope) =>
  Effect.flatMap(Scope.fork(parent), (scope) =>
    Effect.gen(function*() {
      const pull = yield* Scope.provide(scope)(Stream.toPull(client.stream(req)))
      const first = yield* Pull.catchDone(pull, () => Effect.succeed([] as ReadonlyArray<StreamChunk>))
      return { first, pull } satisfies OpenedStream
    }).pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)))
    ))

export interface StreamPlan {
  readonly ctx: ChainContext
  readonly candidates: ReadonlyArray<Deployment>
  readonly startedAt: number
  readonly promptTokens: number
  readonly request: (d: Deployment) => ProviderRequest
  readonly client: (d: Deployment) => Effect.Effect<ModelClientShape, LLMError>
  readonly onSettled: (d: Deployment, usage: Usage, costUsd: number) => Effect.Effect<void>
  readonly onFailed: (error: LLMError, startedAt: number) => Effect.Effect<void>
}

export const routeStream = (p: StreamPlan): Stream.Stream<StreamChunk, LLMError> =>
  Stream.unwrap(Effect.gen(function*() {
    const parent = yield* Effect.scope
    const result = yield* runChain(p.ctx, {
      candidates: p.candidates,
      startedAt: p.startedAt,
      tokens: p.promptTokens,
      call: (d) => Effect.flatMap(p.client(d), (client) => openStream(client, p.request(d), parent))
    }).pipe(Effect.tapError((e) => p.onFailed(e, p.startedAt)))

    const d = result.deployment
    const openedAt = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const stallMs = p.ctx.routing.attemptTimeoutMs
    const attempts: ReadonlyArray<Attempt> = result.attempts
    let first = true
    let usage: Usage | undefined
    let completionChars = 0
    let finishReason: StreamChunk["finishReason"]

    const decorate = (c: StreamChunk): StreamChunk => {
      completionChars += c.delta.length
      let out: StreamChunk = { ...c, provider: d.provider, model: d.model }
      if (first) {
        first = false
        out = { ...out, attempts }
      }
      if (c.finishReason !== undefined) finishReason = c.finishReason
      if (c.usage !== undefined) {
        usage = c.usage
        out = { ...out, costUsd: costOfUsage(d.entry, c.usage) }
      }
      return out
    }

    const stalled = () =>
      Effect.fail(new TimeoutError({ model: d.ref, timeoutMs: stallMs, message: `stream stalled for ${stallMs} ms` }))
    const rest = Stream.fromPull(
      Effect.succeed(Effect.timeoutOrElse(result.value.pull, { duration: stallMs, orElse: stalled }))
    )

    // the contract: the last chunk carries usage, finishReason and costUsd — if the upstream
    // sent none, the router closes the stream with an estimate rather than leave it missing
    const finish = Stream.unwrap(Effect.gen(function*() {
      const final = usage ?? makeUsage(p.promptTokens, Math.ceil(completionChars / 4))
      const costUsd = costOfUsage(d.entry, final)
      yield* p.onSettled(d, final, costUsd)
      if (usage !== undefined) return Stream.empty
      const chunk: StreamChunk = {
        delta: "",
        provider: d.provider,
        model: d.model,
        usage: final,
        finishReason: finishReason ?? "unknown",
        costUsd,
        ...(first ? { attempts } : {})
      }
      first = false
      return Stream.succeed(chunk)
    }))

    const failMidStream = (e: LLMError) =>
      Stream.unwrap(Effect.gen(function*() {
        yield* p.ctx.breakers.recordFailure(d, e)
        yield* Telemetry.upstreamError(d, e._tag)
        const ms = (yield* Effect.clockWith((c) => c.currentTimeMillis)) - openedAt
        const s = p.ctx.state.get(d.ref)
        s.successes--
        s.errors++
        const failed = withAttempts(e, [...attempts, { model: d.ref, outcome: `${e._tag}:mid-stream`, ms }])
        yield* p.onFailed(failed, p.startedAt)
        return Stream.fail(failed)
      }))

    return Stream.fromIterable(result.value.first).pipe(
      Stream.concat(rest),
      Stream.map(decorate),
      Stream.concat(finish),
      Stream.catchCause((cause) => {
        const e = Cause.findErrorOption(cause)
        return e._tag === "Some" ? failMidStream(e.value) : Stream.failCause(cause)
      })
    )
  }))
