/**
 * The router's breaker and limiter stores when a shared (Redis) store is configured: the shared
 * store while it answers, this instance's memory while it does not.
 *
 * Effect's breaker runs a call *unrecorded* when its store fails (and logs a stack per call),
 * so with Redis gone a 100 %-failing model got every request and the log grew by megabytes a
 * second; the limiter admitted everything. Here a store failure instead switches both stores to
 * memory state kept by this instance: circuits still open after `failureThreshold` failures and
 * rpm/tpm still hold (per instance, not fleet-wide, until Redis is back). Every `probeEveryMs`
 * one call tries the shared store again; its first success switches back, and from then on the
 * shared store is authoritative again (it holds the fleet's state; what this instance learned
 * alone stays in its local health mirror until the next outcome refreshes it).
 *
 * The log says "lost" once and "back" once per outage — never a line per request — and at most
 * three outages a minute are logged (the next logged one counts those skipped), so a flapping
 * Redis cannot flood it either.
 */
import { Effect } from "effect"
import { CircuitBreaker, RateLimiter } from "effect/persistence"

export interface StoreHealthOptions {
  /** While down, how often one call retries the shared store (default 1000 ms). */
  readonly probeEveryMs?: number | undefined
  /** At most this many outages are logged per minute (default 3); a logged outage's end always is. */
  readonly outagesLoggedPerMinute?: number | undefined
  /** A shared-store call slower than this counts as a failure (default 500 ms). */
  readonly timeoutMs?: number | undefined
}

/** Whether the shared store is in use; one instance is shared by the breaker and limiter stores. */
export class StoreHealth {
  down = false
  private nextProbeAt = 0
  /** Start of the current minute of the log budget, and outages logged in it. */
  private windowStart = Number.NEGATIVE_INFINITY
  private loggedInWindow = 0
  /** Whether this outage's "lost" line was written (then its "back" line is, too). */
  private lostLogged = false
  /** Outages not logged since the last line (a flapping store). */
  private unlogged = 0
  readonly probeEveryMs: number
  readonly maxPerMinute: number
  readonly timeoutMs: number

  constructor(options: StoreHealthOptions = {}) {
    this.probeEveryMs = options.probeEveryMs ?? 1_000
    this.maxPerMinute = options.outagesLoggedPerMinute ?? 3
    this.timeoutMs = options.timeoutMs ?? 500
  }

  /** Use the shared store for this call? While down, one call per probe interval does. */
  useShared(now: number): boolean {
    if (!this.down) return true
    if (now < this.nextProbeAt) return false
    this.nextProbeAt = now + this.probeEveryMs
    return true
  }

  failed(now: number, what: string, detail: string): Effect.Effect<void> {
    this.nextProbeAt = now + this.probeEveryMs
    if (this.down) return Effect.void
    this.down = true
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now
      this.loggedInWindow = 0
    }
    this.lostLogged = this.loggedInWindow < this.maxPerMinute
    if (!this.lostLogged) {
      this.unlogged++
      return Effect.void
    }
    this.loggedInWindow++
    const unlogged = this.unlogged
    this.unlogged = 0
    return Effect.logWarning(
      `shared router store unavailable (${what}: ${detail}): circuit breakers and rate limits use this instance's memory until it is back` +
        (unlogged > 0 ? ` (${unlogged} shorter outages before this one were not logged)` : "")
    )
  }

  succeeded(_now: number): Effect.Effect<void> {
    if (!this.down) return Effect.void
    this.down = false
    if (!this.lostLogged) return Effect.void
    this.lostLogged = false
    return Effect.logInfo("shared router store back: circuit breakers and rate limits are shared again")
  }
}

const now = Effect.clockWith((c) => c.currentTimeMillis)

const messageOf = (cause: unknown): string => {
  let c: unknown = cause
  // the innermost message says most ("The client is offline")
  while (c !== null && typeof c === "object" && "cause" in c && c.cause !== undefined && c.cause !== c) c = c.cause
  return c instanceof Error ? c.message || c.name : String(c)
}

/**
 * Runs `shared` (bounded by the health's timeout) when the shared store is in use, else or on a
 * store failure `local`. Errors that are not store failures (a rejection) pass through.
 */
const choose = <A, E, R>(
  health: StoreHealth,
  what: string,
  isStoreFailure: (e: E) => boolean,
  shared: Effect.Effect<A, E, R>,
  local: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(now, (t) => {
    if (!health.useShared(t)) return local
    return shared.pipe(
      Effect.timeoutOrElse({
        duration: health.timeoutMs,
        orElse: () => Effect.die(new Error(`no answer within ${health.timeoutMs} ms`))
      }),
      Effect.matchCauseEffect({
        onSuccess: (a) => Effect.as(Effect.flatMap(now, (t2) => health.succeeded(t2)), a),
        onFailure: (cause) => {
          // the caller was interrupted: not the store's fault
          if (cause.reasons.every((r) => r._tag === "Interrupt")) return Effect.failCause(cause)
          const failure = cause.reasons.find((r) => r._tag === "Fail")
          if (failure !== undefined && !isStoreFailure(failure.error as E)) return Effect.failCause(cause)
          // a store error or a defect of the store (a timeout, a dropped connection)
          const die = cause.reasons.find((r) => r._tag === "Die")
          const detail = messageOf(failure !== undefined ? failure.error : die?.defect)
          return Effect.andThen(Effect.flatMap(now, (t2) => health.failed(t2, what, detail)), local)
        }
      })
    )
  })

// Generations the memory store hands out are mapped to negative numbers, so `record` knows
// which store admitted the call (Redis generations are never negative).
const toLocal = (g: number) => -g - 1
const fromLocal = (g: number) => -g - 1

const isBreakerStoreFailure = (e: CircuitBreaker.CircuitBreakerError) => e.reason._tag === "CircuitBreakerStoreError"

export const breakerStore = (
  shared: CircuitBreaker.CircuitBreakerStore["Service"],
  memory: CircuitBreaker.CircuitBreakerStore["Service"],
  health: StoreHealth
): CircuitBreaker.CircuitBreakerStore["Service"] => {
  const localAdmit = (key: string) =>
    Effect.map(memory.admit(key), (a) => ({ ...a, generation: toLocal(a.generation) }))
  return CircuitBreaker.CircuitBreakerStore.of({
    admit: (key) => choose(health, "circuit breaker", isBreakerStoreFailure, shared.admit(key), localAdmit(key)),
    record: (options) =>
      options.generation < 0
        ? memory.record({ ...options, generation: fromLocal(options.generation) })
        // admitted by the shared store: record there; if it is gone now the outcome is lost
        // (one call), the next admissions go to memory
        : choose(health, "circuit breaker", isBreakerStoreFailure, shared.record(options), Effect.succeed(undefined)),
    state: (key) =>
      health.down
        ? memory.state(key)
        : Effect.catch(shared.state(key), () => memory.state(key))
  })
}

const isLimiterStoreFailure = (e: RateLimiter.RateLimiterError) => e.reason._tag === "RateLimitStoreError"

export const limiterStore = (
  shared: RateLimiter.RateLimiterStore["Service"],
  memory: RateLimiter.RateLimiterStore["Service"],
  health: StoreHealth
): RateLimiter.RateLimiterStore["Service"] =>
  RateLimiter.RateLimiterStore.of({
    fixedWindow: (o) => choose(health, "rate limiter", isLimiterStoreFailure, shared.fixedWindow(o), memory.fixedWindow(o)),
    tokenBucket: (o) => choose(health, "rate limiter", isLimiterStoreFailure, shared.tokenBucket(o), memory.tokenBucket(o)),
    adaptiveConsume: (o) =>
      choose(health, "rate limiter", isLimiterStoreFailure, shared.adaptiveConsume(o), memory.adaptiveConsume(o)),
    adaptiveFeedback: (o) =>
      choose(health, "rate limiter", isLimiterStoreFailure, shared.adaptiveFeedback(o), memory.adaptiveFeedback(o))
  })
