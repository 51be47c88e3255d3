/**
 * One circuit per model deployment on Effect's `persistence/CircuitBreaker` (memory store, or
 * the Redis store so every instance shares one circuit per model).
 *
 * Seed 002: open after `failureThreshold` consecutive failures, one half-open probe after
 * `openMs`, closed after `successThreshold` successes. Effect's breaker closes on the first
 * successful probe, so the rest of the seed's threshold is counted here on top of it: after a
 * successful probe the deployment is on probation for `successThreshold − 1` more calls, run
 * through a second breaker on the same key and store whose trip policy is one failure — a
 * failure on probation re-opens the circuit at once, as a failed half-open probe would. The
 * probation count is per instance (the store has no field for it); `stats` reports a
 * deployment on probation as half-open.
 *
 * Only failures that say something about the model's health count: InvalidRequest,
 * ContextTooLarge and ConfigurationError are the request's or the config's fault and are
 * ignored; a 429's retry-after lengthens the opening.
 *
 * With the instance's own (memory) store, a call to a deployment whose circuit is closed with no
 * failure since its last success skips the store's admission round (a scope, an admit and a
 * record: ~20 Effect steps per call, notes/benchmarks.md): every call of this instance passes
 * here, so that state is known, and admitting and recording a success would change nothing. A
 * failure of such a call is then handed to the store as if it had been admitted (the same
 * classification, counting and opening), and calls go through the store until the next success.
 */
import { Cause, type Context, Duration, Effect, Exit, Option } from "effect"
import { CircuitBreaker } from "effect/persistence"
import type { CircuitBreakerConfig } from "../../config/ConfigSchema.ts"
import { isLLMError, type LLMError } from "../../domain/LLMError.ts"
import type { Deployment } from "./Deployments.ts"
import type { CircuitView, RouterState } from "./State.ts"
import * as Telemetry from "./Telemetry.ts"

type Config = typeof CircuitBreakerConfig.Type

export interface Breakers {
  /** Runs one call through the deployment's circuit; rejections fail with CircuitBreakerError. */
  readonly run: <A, R>(
    d: Deployment,
    call: Effect.Effect<A, LLMError, R>
  ) => Effect.Effect<A, LLMError | CircuitBreaker.CircuitBreakerError, R>
  /**
   * A call to `d` may run without the store now (the header's case): run it, then hand its
   * exit to `directSucceeded` or `directFailed`. `run` does exactly this when it may.
   */
  readonly bypasses: (d: Deployment) => boolean
  /** A success of a call run without the store, counted (synchronous: the caller's own step). */
  readonly directSucceeded: (context: Context.Context<never>, d: Deployment) => void
  /** A failure of a call run without the store: the store hears of it as if it had admitted it; the exit comes back unchanged. */
  readonly directFailed: <A>(d: Deployment, exit: Exit.Exit<A, LLMError>) => Effect.Effect<A, LLMError>
  /** Records a failure that happened after the call returned (a stream cut mid-way). */
  readonly recordFailure: (d: Deployment, error: LLMError) => Effect.Effect<void>
  /** The shared circuit state (a store read), probation shown as half-open. */
  readonly state: (d: Deployment) => Effect.Effect<CircuitView>
}

const countsAgainstHealth = (e: LLMError): boolean =>
  e._tag !== "InvalidRequest" && e._tag !== "ContextTooLarge" && e._tag !== "ConfigurationError"

const classify = <A>(exit: Exit.Exit<A, LLMError>): CircuitBreaker.Outcome => {
  if (Exit.isSuccess(exit)) return CircuitBreaker.success
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) return CircuitBreaker.failure()
  const e = error.value
  if (!countsAgainstHealth(e)) return CircuitBreaker.ignored
  return e._tag === "RateLimitExceeded" && e.retryAfter > 0
    ? CircuitBreaker.failure({ retryAfter: Duration.millis(e.retryAfter) })
    : CircuitBreaker.failure()
}

export const makeBreakers = Effect.fnUntraced(function*(options: {
  readonly config: Config
  readonly state: RouterState
  readonly deployments: ReadonlyArray<Deployment>
  /** The store is this instance's memory: nothing else moves its circuits. */
  readonly local?: boolean | undefined
}) {
  const { config, state } = options
  const local = options.local === true
  /** Deployments with a failure since their last success (their calls go through the store). */
  const unsettled = new Set<string>()
  const openDuration = Duration.millis(config.openMs)
  const normal = yield* CircuitBreaker.make({
    tripPolicy: CircuitBreaker.consecutive(config.failureThreshold),
    openDuration
  })
  const strict = yield* CircuitBreaker.make({ tripPolicy: CircuitBreaker.consecutive(1), openDuration })
  let open = 0
  const total = options.deployments.length
  yield* Telemetry.initial(options.deployments)

  const setCircuit = (d: Deployment, next: CircuitView, openUntil = 0) => {
    const s = state.get(d.ref)
    const prev = s.circuit
    s.openUntil = openUntil
    if (prev === next) return Effect.void
    s.circuit = next
    if (next === "open") open++
    if (prev === "open") open--
    if (next !== "half-open") s.probation = 0
    return Effect.andThen(
      Telemetry.circuitTransition(d, prev, next),
      Telemetry.activeDeployments(Math.max(0, total - open))
    )
  }

  const observeOpen = (d: Deployment, now: number) =>
    Effect.flatMap(
      Effect.orElseSucceed(normal.state(d.ref), () => undefined),
      (st) =>
        st?._tag === "Open" ? setCircuit(d, "open", now + Duration.toMillis(st.retryAfter)) : Effect.void
    )

  const admitted = <A, R>(d: Deployment, call: Effect.Effect<A, LLMError, R>) =>
    Effect.gen(function*() {
      const s = state.get(d.ref)
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      // the store moves an expired open circuit to half-open on this admission
      if (s.circuit === "open" && s.openUntil <= now) yield* setCircuit(d, "half-open")
      const onProbation = s.probation > 0
      const breaker = onProbation ? strict : normal
      const exit = yield* Effect.exit(breaker.execute(call, { key: d.ref, classify }))
      if (Exit.isSuccess(exit)) unsettled.delete(d.ref)
      else if (!Cause.hasInterruptsOnly(exit.cause)) unsettled.add(d.ref)
      if (Exit.isSuccess(exit)) {
        yield* Telemetry.circuitOutcome(d, false)
        if (onProbation) {
          s.probation--
          if (s.probation === 0) yield* setCircuit(d, "closed")
        } else if (s.circuit !== "closed") {
          // this call was the probe and closed the store's circuit
          if (config.successThreshold > 1) {
            yield* setCircuit(d, "half-open")
            s.probation = config.successThreshold - 1
          } else yield* setCircuit(d, "closed")
        }
        return exit.value
      }
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isSome(error)) {
        const e = error.value
        if (e instanceof CircuitBreaker.CircuitBreakerError) {
          const reason = e.reason
          if (reason._tag === "CircuitOpen") {
            yield* setCircuit(d, "open", now + Duration.toMillis(reason.retryAfter))
          } else if (reason._tag === "CircuitHalfOpen") {
            // another call holds the probe slot: keep routing elsewhere for a moment
            yield* setCircuit(d, "open", now + Math.min(config.openMs, 1000))
          }
        } else if (isLLMError(e) && countsAgainstHealth(e)) {
          yield* Telemetry.circuitOutcome(d, true)
          yield* observeOpen(d, yield* Effect.clockWith((c) => c.currentTimeMillis))
        }
      }
      return yield* exit
    })

  /** A closed circuit with nothing to count (see the header): the call runs without the store. */
  const bypasses = (d: Deployment) => {
    if (!local) return false
    const s = state.get(d.ref)
    return s.circuit === "closed" && s.probation === 0 && !unsettled.has(d.ref)
  }
  const directSucceeded = (context: Context.Context<never>, d: Deployment) => Telemetry.circuitOutcomeNow(context, d, false)
  const directFailed = <A>(d: Deployment, exit: Exit.Exit<A, LLMError>): Effect.Effect<A, LLMError> =>
    // an interruption says nothing of the model; a failure goes to the store as if admitted, then to the caller
    Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
      ? exit
      : Effect.flatMap(Effect.exit(admitted(d, exit)), () => exit)

  const direct = <A, R>(d: Deployment, call: Effect.Effect<A, LLMError, R>) =>
    Effect.flatMap(Effect.exit(call), (exit) =>
      Exit.isSuccess(exit)
        ? Effect.withFiberSucceed((fiber) => {
          directSucceeded(fiber.context, d)
          return exit.value
        })
        : directFailed(d, exit))

  const run = <A, R>(d: Deployment, call: Effect.Effect<A, LLMError, R>) =>
    bypasses(d) ? direct(d, call) : admitted(d, call)

  const recordFailure = (d: Deployment, error: LLMError) =>
    countsAgainstHealth(error)
      ? run(d, Effect.fail(error)).pipe(Effect.ignore)
      : Effect.void

  const stateOf = (d: Deployment) =>
    Effect.map(
      Effect.orElseSucceed(normal.state(d.ref), () => undefined),
      (st): CircuitView => {
        if (st === undefined) return state.get(d.ref).circuit
        if (st._tag === "Open") return "open"
        if (st._tag === "HalfOpen") return "half-open"
        return state.get(d.ref).probation > 0 ? "half-open" : "closed"
      }
    )

  return { run, bypasses, directSucceeded, directFailed, recordFailure, state: stateOf } satisfies Breakers
})
