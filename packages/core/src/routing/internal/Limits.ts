/**
 * Requests- and tokens-per-minute per provider, on Effect's `persistence/RateLimiter` (token
 * bucket: a full minute's budget may be spent as a burst, then it refills evenly). With the
 * Redis store the budget is global across instances.
 *
 * `rpm` / `tpm` are set on the provider, so they are one budget its models share, keyed
 * `rpm:<provider>` and `tpm:<provider>`: two models of a provider with `rpm: 60` get 60 requests
 * a minute between them, not 120 (the budget a user writes is the one the upstream account
 * has). Admission charges the estimated prompt tokens; once the upstream reports usage the rest
 * is charged as debt (the bucket may go negative), so the next requests see the real spend.
 *
 * The limiter never waits here: a refused deployment reports how long until it has room, and
 * the executor decides to skip it or, on the last candidate, to wait.
 */
import { Duration, Effect } from "effect"
import { RateLimiter } from "effect/persistence"
import type { Deployment } from "./Deployments.ts"
import type { RouterState } from "./State.ts"
import * as Telemetry from "./Telemetry.ts"

export interface Limits {
  /** 0 when admitted (one request and `tokens` charged), else the ms until there is room. */
  readonly acquire: (d: Deployment, tokens: number) => Effect.Effect<number>
  /** Charges tokens the estimate missed; never refuses. */
  readonly settle: (d: Deployment, tokens: number) => Effect.Effect<void>
  /** Requests and tokens available now, per the shared store. */
  readonly headroom: (d: Deployment) => Effect.Effect<{
    readonly availableRequests: number | undefined
    readonly availableTokens: number | undefined
  }>
}

const WINDOW = Duration.minutes(1)

// the provider's budget, shared by its models
const rpmKey = (d: Deployment) => `rpm:${d.provider}`
const tpmKey = (d: Deployment) => `tpm:${d.provider}`

export const makeLimits = (limiter: RateLimiter.RateLimiter, state: RouterState): Limits => {
  const take = (
    key: string,
    limit: number,
    tokens: number
  ): Effect.Effect<{ readonly waitMs: number; readonly remaining: number | undefined }> =>
    limiter.consume({ algorithm: "token-bucket", onExceeded: "fail", window: WINDOW, limit, key, tokens }).pipe(
      Effect.map((r) => ({ waitMs: 0, remaining: r.remaining })),
      Effect.catch((e) =>
        e.reason._tag === "RateLimitExceeded"
          ? Effect.succeed({ waitMs: Math.max(1, Duration.toMillis(e.reason.retryAfter)), remaining: 0 })
          // a broken store must not take the gateway down: admit. No log line per request: the
          // router's stores fall back to memory and log the outage once (StoreFallback)
          : Effect.succeed({ waitMs: 0, remaining: undefined as number | undefined })
      )
    )

  const acquire = (d: Deployment, tokens: number): Effect.Effect<number> => {
    if (d.rpm === undefined && d.tpm === undefined) return Effect.succeed(0)
    return Effect.gen(function*() {
      const s = state.get(d.ref)
      let waitMs = 0
      if (d.tpm !== undefined) {
        // a prompt bigger than the whole budget still goes once the bucket is full
        const r = yield* take(tpmKey(d), d.tpm, Math.min(Math.max(1, tokens), d.tpm))
        waitMs = r.waitMs
        s.availableTokens = r.remaining
      }
      if (waitMs === 0 && d.rpm !== undefined) {
        const r = yield* take(rpmKey(d), d.rpm, 1)
        waitMs = r.waitMs
        s.availableRequests = r.remaining
      }
      if (waitMs > 0) {
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        s.limitedUntil = now + waitMs
      }
      yield* Telemetry.rateLimitCheck(d, waitMs > 0 ? waitMs : undefined)
      return waitMs
    })
  }

  const settle = (d: Deployment, tokens: number): Effect.Effect<void> =>
    d.tpm === undefined || tokens <= 0
      ? Effect.void
      : limiter.consume({
        algorithm: "token-bucket",
        onExceeded: "delay",
        window: WINDOW,
        limit: d.tpm,
        key: tpmKey(d),
        tokens
      }).pipe(
        Effect.tap((r) =>
          Effect.sync(() => {
            state.get(d.ref).availableTokens = Math.max(0, r.remaining)
          })
        ),
        Effect.ignore
      )

  const peek = (key: string, limit: number) =>
    limiter.consume({ algorithm: "token-bucket", onExceeded: "delay", window: WINDOW, limit, key, tokens: 0 }).pipe(
      Effect.map((r) => Math.max(0, Math.floor(r.remaining))),
      Effect.orElseSucceed(() => undefined)
    )

  const headroom = (d: Deployment) =>
    Effect.all({
      availableRequests: d.rpm === undefined ? Effect.succeed(undefined) : peek(rpmKey(d), d.rpm),
      availableTokens: d.tpm === undefined ? Effect.succeed(undefined) : peek(tpmKey(d), d.tpm)
    })

  return { acquire, settle, headroom }
}
