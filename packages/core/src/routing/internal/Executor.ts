/**
 * Runs a plan: each candidate in turn, each attempt through its rate limit, its circuit and
 * its attempt timeout, retried or abandoned as the error decides (RetryPolicy). Generic over
 * the call, so generate, embed and the opening of a stream share one set of rules.
 *
 * Time: `routing.timeoutMs` is a deadline for the whole chain — an attempt gets at most the
 * time left, and a backoff that would pass the deadline is not taken (the next candidate is
 * tried instead); `routing.attemptTimeoutMs` bounds one attempt, so a hung first candidate
 * leaves time for the next. A rate-limit permit is waited for at most `routing.queueMs` (unset:
 * 0 on every candidate but the last, 1 s on the last): holding an over-limit request for
 * seconds only to refuse it later helps nobody, so it is refused at once with the real wait as
 * retry-after.
 *
 * When every candidate failed, the error names what the caller asked for (the model, or `auto`
 * and the task) and why each candidate fell out: `openai/gpt-4o-mini: circuit open; …`.
 */
import { Cause, type Context, Duration, Effect, Exit, Option } from "effect"
import { CircuitBreaker } from "effect/persistence"
import type { RoutingConfig } from "../../config/ConfigSchema.ts"
import type { Attempt } from "../../domain/Domain.ts"
import { isLLMError, type LLMError, ModelUnavailable, TimeoutError, withAttempts } from "../../domain/LLMError.ts"
import { isTracing } from "../../metrics/GenAiSpans.ts"
import type { Breakers } from "./Breakers.ts"
import type { Deployment } from "./Deployments.ts"
import type { Limits } from "./Limits.ts"
import {
  type BackoffOptions,
  chainTimeout,
  decide,
  locallyLimited,
  makeBackoff,
  mostInformative,
  reasonOf,
  summarize
} from "./RetryPolicy.ts"
import type { RouterState } from "./State.ts"
import { attemptSpan, type Operation, upstreamSpan } from "./Spans.ts"
import * as Telemetry from "./Telemetry.ts"

export interface ChainContext {
  readonly routing: RoutingConfig
  readonly state: RouterState
  readonly breakers: Breakers
  readonly limits: Limits
  readonly backoff: BackoffOptions
}

export interface ChainResult<A> {
  readonly value: A
  readonly deployment: Deployment
  readonly attempts: ReadonlyArray<Attempt>
  /** Time inside the winning call. */
  readonly upstreamMs: number
}

export interface ChainOptions<A, R> {
  readonly candidates: ReadonlyArray<Deployment>
  /** Clock ms when the request arrived: the chain deadline counts from here. */
  readonly startedAt: number
  /** Tokens to charge against tpm at admission (the prompt estimate). */
  readonly tokens: number
  /** One attempt; `timeoutMs` is its budget (for a call that enforces it itself). */
  readonly call: (d: Deployment, timeoutMs: number) => Effect.Effect<A, LLMError, R>
  /** The call of this deployment enforces `timeoutMs` itself: no router-side timeout race. */
  readonly selfTimed?: ((d: Deployment) => boolean) | undefined
  /** What the caller asked for, named by the error when every candidate fails. */
  readonly requested?: Requested | undefined
  /** `gen_ai.operation.name` of the upstream span (default `chat`). */
  readonly operation?: Operation | undefined
  /**
   * Candidates the plan moved behind `d` for an open circuit or a rate limit (Planner's
   * `passedOver`): when `d` answers, they head the attempts as `skipped:…`, never having been called.
   */
  readonly passedOver?: ((d: Deployment) => ReadonlyArray<Attempt>) | undefined
  /**
   * The first attempt on `candidates[0]`, already made without a limit or the breaker's store
   * (the router's fused path, internal/Generate) and failed: judged here like any attempt.
   */
  readonly first?: FirstAttempt<A> | undefined
}

export interface FirstAttempt<A> {
  readonly exit: Exit.Exit<A, LLMError>
  /** Clock ms when it started. */
  readonly startedAt: number
}

export interface Requested {
  /** The model as the caller named it, or `auto`. */
  readonly model: string
  /** The task `auto` routed by. */
  readonly task?: string | undefined
}

/** How long the last candidate waits for a rate-limit permit when `routing.queueMs` is unset. */
export const DEFAULT_LAST_QUEUE_MS = 1_000

const now = Effect.clockWith((c) => c.currentTimeMillis)

const attemptTimeout = (ref: string, timeoutMs: number) => () =>
  Effect.fail(new TimeoutError({ model: ref, timeoutMs, message: `no answer within ${timeoutMs} ms` }))

/** One attempt on `d` bounded by the router (for a call that does not bound itself). */
export const timedAttempt = <A, R>(d: Deployment, timeoutMs: number, call: Effect.Effect<A, LLMError, R>) =>
  Effect.timeoutOrElse(call, { duration: timeoutMs, orElse: attemptTimeout(d.ref, timeoutMs) })

/**
 * The first attempt on `d` may be made outside the chain (internal/Generate, internal/Streaming):
 * nothing to wait for or count first — no rate limit on `d`, time left before the deadline (the
 * chain's own first check), and a circuit the breaker lets calls bypass. Returns the attempt's
 * time budget, or undefined when the attempt must be the chain's.
 */
export const fusedBudget = (ctx: ChainContext, d: Deployment | undefined, startedAt: number, now: number): number | undefined => {
  if (d === undefined || d.rpm !== undefined || d.tpm !== undefined) return undefined
  const left = startedAt + ctx.routing.timeoutMs - now
  return left < 1 || !ctx.breakers.bypasses(d) ? undefined : Math.min(ctx.routing.attemptTimeoutMs, left)
}

/** The window a ContextTooLarge says is too small: later candidates need a larger one. */
const windowFloor = (e: LLMError, d: Deployment): number | undefined =>
  e._tag !== "ContextTooLarge"
    ? undefined
    : e.contextWindow ?? d.contextWindow ?? (e.tokenCount > 0 ? e.tokenCount - 1 : undefined)

/**
 * A successful attempt on `d` that took `ms`, recorded (synchronous: the caller's own step);
 * the route a caller sees: the attempts so far, headed by those the plan passed over.
 */
export const attemptSucceeded = (
  context: Context.Context<never>,
  state: RouterState,
  d: Deployment,
  ms: number,
  attempts: Array<Attempt>,
  passedOver: ((d: Deployment) => ReadonlyArray<Attempt>) | undefined
): ReadonlyArray<Attempt> => {
  const s = state.get(d.ref)
  s.requests++
  s.successes++
  state.recordLatency(d.ref, ms)
  Telemetry.upstreamCallNow(context, d, { ms })
  attempts.push({ model: d.ref, outcome: "ok", ms })
  const skipped = passedOver?.(d)
  return skipped === undefined || skipped.length === 0
    ? attempts
    : [...skipped.filter((a) => !attempts.some((t) => t.model === a.model)), ...attempts]
}

/**
 * The success of a first attempt made outside the chain (internal/Generate, internal/Streaming),
 * recorded as the breaker's direct pass and the chain record one; the route a caller sees.
 */
export const fusedSucceeded = (
  context: Context.Context<never>,
  ctx: ChainContext,
  d: Deployment,
  ms: number,
  passedOver: ((d: Deployment) => ReadonlyArray<Attempt>) | undefined
): ReadonlyArray<Attempt> => {
  ctx.breakers.directSucceeded(context, d)
  return attemptSucceeded(context, ctx.state, d, ms, [], passedOver)
}

export const runChain = <A, R>(
  ctx: ChainContext,
  options: ChainOptions<A, R>
): Effect.Effect<ChainResult<A>, LLMError, R> =>
  Effect.gen(function*() {
    const { routing, state, breakers, limits } = ctx
    const { candidates } = options
    const deadline = options.startedAt + routing.timeoutMs
    const attempts: Array<Attempt> = []
    const errors: Array<LLMError> = []
    /** `ref: why it fell out`, one per candidate, for the final error. */
    const reasons: Array<string> = []
    let floor: number | undefined
    // spans only while the tracer is on: off, an attempt builds none
    const tracing = yield* Effect.withFiberSucceed(isTracing)
    let attemptNo = 0
    let first = options.first

    for (let i = 0; i < candidates.length; i++) {
      const d = candidates[i]
      const isLast = i === candidates.length - 1
      if (floor !== undefined && d.contextWindow !== undefined && d.contextWindow <= floor) {
        attempts.push({ model: d.ref, outcome: "skipped:ContextTooLarge", ms: 0 })
        reasons.push(`${d.ref}: context window too small`)
        continue
      }
      let retriesLeft = routing.maxRetries
      let backoff: ((now: number, e: LLMError) => Effect.Effect<number>) | undefined
      const queueMs = routing.queueMs ?? (isLast ? DEFAULT_LAST_QUEUE_MS : 0)
      /** Until when this candidate may wait for a permit (set at its first refusal). */
      let queueUntil: number | undefined
      while (true) {
        let t0: number
        let exit: Exit.Exit<A, LLMError | CircuitBreaker.CircuitBreakerError>
        if (first !== undefined) {
          // made already (options.first): only its verdict is left, through the breaker as a direct call's
          t0 = first.startedAt
          exit = yield* Effect.exit(breakers.directFailed(d, first.exit))
          first = undefined
          attemptNo++
        } else {
          t0 = yield* now
          // jittered backoffs make times fractional: under a millisecond left is no time left
          if (deadline - t0 < 1) {
            return yield* Effect.fail(withAttempts(chainTimeout(d.ref, routing.timeoutMs), attempts))
          }
          const waitMs = yield* limits.acquire(d, options.tokens)
          if (waitMs > 0) {
            // a permit within the queue budget (and the deadline) is waited for; otherwise the
            // candidate is skipped now, and if it was the last the caller hears so now
            queueUntil ??= Math.min(t0 + queueMs, deadline)
            if (t0 + waitMs <= queueUntil && t0 + waitMs < deadline) {
              yield* Effect.sleep(waitMs)
              continue
            }
            attempts.push({ model: d.ref, outcome: "skipped:RateLimited", ms: 0 })
            const limited = locallyLimited(d.ref, waitMs)
            errors.push(limited)
            reasons.push(`${d.ref}: ${reasonOf(limited)}`)
            break
          }
          const timeoutMs = Math.min(routing.attemptTimeoutMs, deadline - t0)
          const upstream = tracing ? upstreamSpan(d, options.operation ?? "chat", options.call(d, timeoutMs)) : options.call(d, timeoutMs)
          const call = options.selfTimed?.(d) === true
            ? upstream
            : timedAttempt(d, timeoutMs, upstream)
          exit = yield* Effect.exit(tracing ? attemptSpan(d, ++attemptNo, breakers.run(d, call)) : breakers.run(d, call))
        }
        const t1 = yield* now
        const ms = t1 - t0
        if (Exit.isSuccess(exit)) {
          const route = yield* Effect.withFiberSucceed((fiber) =>
            attemptSucceeded(fiber.context, state, d, ms, attempts, options.passedOver)
          )
          return { value: exit.value, deployment: d, attempts: route, upstreamMs: ms } satisfies ChainResult<A>
        }
        const s = state.get(d.ref)
        const found = Cause.findErrorOption(exit.cause)
        // a defect or an interruption: not ours to judge
        if (Option.isNone(found)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
        const e = found.value
        if (e instanceof CircuitBreaker.CircuitBreakerError) {
          attempts.push({ model: d.ref, outcome: "skipped:CircuitOpen", ms: 0 })
          errors.push(new ModelUnavailable({ model: d.ref, message: "circuit open after repeated failures" }))
          reasons.push(
            e.reason._tag === "CircuitOpen"
              ? `${d.ref}: circuit open (retry in ${Math.ceil(Duration.toMillis(e.reason.retryAfter) / 1000)} s)`
              : `${d.ref}: circuit half-open (a probe is in flight)`
          )
          break
        }
        if (!isLLMError(e)) return yield* Effect.die(e)
        s.requests++
        s.errors++
        yield* Telemetry.upstreamCall(d, { ms, error: e._tag })
        attempts.push({ model: d.ref, outcome: e._tag, ms })
        errors.push(e)
        if (e._tag === "RateLimitExceeded" && e.retryAfter > 0) s.limitedUntil = t1 + e.retryAfter
        const decision = decide(e, retriesLeft)
        if (decision === "fail") return yield* Effect.fail(withAttempts(e, attempts))
        if (decision === "retry") {
          backoff ??= yield* makeBackoff(ctx.backoff)
          const delay = yield* backoff(t1, e)
          if (t1 + delay < deadline) {
            retriesLeft--
            yield* Effect.sleep(delay)
            continue
          }
          // no time left to wait for this model: an error that may not fall back ends here
          if (!e.shouldFallback) return yield* Effect.fail(withAttempts(e, attempts))
        }
        const f = windowFloor(e, d)
        if (f !== undefined) floor = floor === undefined ? f : Math.max(floor, f)
        reasons.push(`${d.ref}: ${reasonOf(e)}`)
        break
      }
      if (!isLast) {
        state.failovers++
        yield* Telemetry.failover(d)
      }
    }
    // the deadline ran out during the last attempts: say so, not "the last model timed out"
    const end = yield* now
    if (deadline - end < 1 && candidates.length > 0 && errors.at(-1)?._tag === "TimeoutError") {
      return yield* Effect.fail(withAttempts(chainTimeout(candidates[candidates.length - 1].ref, routing.timeoutMs), attempts))
    }
    const best = mostInformative(errors) ??
      new ModelUnavailable({
        model: candidates[0]?.ref ?? "none",
        message: "no candidate could take the request",
        shouldRetry: false
      })
    return yield* Effect.fail(
      options.requested === undefined ? withAttempts(best, attempts) : summarize(best, options.requested, reasons, attempts)
    )
  })
