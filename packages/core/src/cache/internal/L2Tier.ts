/**
 * The cache's second tier (`CacheL2`, Redis in production), best-effort: each call is bounded by
 * a short timeout, an error or timeout is a miss, the first one of an outage is logged (once),
 * and the L2 is skipped for `retryMs` after a failure, so a Redis outage costs neither
 * availability nor latency. Writes run off the response path and are awaited on shutdown.
 */
import { Effect, FiberSet, Metric, Option, Schema } from "effect"
import { LLMResponse } from "../../domain/Domain.ts"
import { CacheL2Error, type CacheL2Shape } from "../CacheL2.ts"
import { type CacheResult, hitOf } from "./entries.ts"
import type { Lru } from "./Lru.ts"
import { cacheL2ErrorsTotal } from "./metrics.ts"

/** What L2 holds: the answer and its absolute expiry, so an L2 hit fills L1 for the rest of the TTL only. */
const L2Entry = Schema.Struct({ v: Schema.Literal(1), response: LLMResponse, expiresAt: Schema.Finite })
const decodeL2Entry = Schema.decodeUnknownOption(L2Entry)

export interface L2Tier {
  /** The entry under `k` (filling L1 with it), or `undefined`: absent, expired, failed or skipped. */
  readonly get: (k: string, now: number) => Effect.Effect<CacheResult | undefined>
  readonly set: (k: string, response: LLMResponse, now: number) => Effect.Effect<void>
  /** `set` on a fiber of its own: the caller does not wait for the shared store. */
  readonly setInBackground: (k: string, response: LLMResponse, now: number) => Effect.Effect<unknown>
  /** L2 calls that failed or timed out. */
  readonly errors: () => number
  /** An L2 is configured and its last call succeeded. */
  readonly available: () => boolean
}

export const makeL2Tier = Effect.fnUntraced(function*(
  l2: CacheL2Shape | undefined,
  l1: Lru<CacheResult>,
  options: { readonly ttlMs: number; readonly timeoutMs: number; readonly retryMs: number }
) {
  const { retryMs, timeoutMs, ttlMs } = options
  // On shutdown pending writes are awaited (each is bounded by the timeout) before the set
  // interrupts anything, so a closing instance still shares its answers.
  const writes = yield* FiberSet.make<void>()
  yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(writes))
  let errors = 0
  let healthy = true
  let skipUntil = 0

  const failed = (error: CacheL2Error, now: number) =>
    Effect.suspend(() => {
      errors++
      skipUntil = now + retryMs
      if (!healthy) return Metric.update(cacheL2ErrorsTotal, 1)
      healthy = false
      return Effect.andThen(
        Metric.update(cacheL2ErrorsTotal, 1),
        Effect.logWarning(`cache L2 unavailable, serving from L1 and upstream until it is back: ${error.message}`)
      )
    })

  const succeeded = Effect.suspend(() => {
    if (healthy) return Effect.void
    healthy = true
    return Effect.logInfo("cache L2 available again")
  })

  const bounded = <A>(effect: Effect.Effect<A, CacheL2Error>, now: number): Effect.Effect<Option.Option<A>> =>
    effect.pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(new CacheL2Error({ message: `timed out after ${timeoutMs} ms` }))
      }),
      Effect.matchEffect({
        onFailure: (error) => Effect.as(failed(error, now), Option.none()),
        onSuccess: (a) => Effect.as(succeeded, Option.some(a))
      })
    )

  const get = (k: string, now: number): Effect.Effect<CacheResult | undefined> => {
    if (l2 === undefined || now < skipUntil) return Effect.succeed(undefined)
    return Effect.map(bounded(l2.get(k), now), (found) => {
      if (Option.isNone(found) || found.value === undefined || found.value === null) return undefined
      const entry = decodeL2Entry(found.value)
      // An undecodable value (another version, corruption) is a miss; it will be overwritten.
      if (Option.isNone(entry) || entry.value.expiresAt <= now) return undefined
      const hit = hitOf(entry.value.response)
      l1.set(k, hit, entry.value.expiresAt)
      return hit
    })
  }

  const set = (k: string, response: LLMResponse, now: number): Effect.Effect<void> => {
    if (l2 === undefined || now < skipUntil) return Effect.void
    const value = { v: 1 as const, response: { ...response, cached: false }, expiresAt: now + ttlMs }
    return Effect.asVoid(bounded(l2.set(k, value, ttlMs), now))
  }

  return {
    get,
    set,
    setInBackground: (k, response, now) => FiberSet.run(writes, set(k, response, now)),
    errors: () => errors,
    available: () => l2 !== undefined && healthy
  } satisfies L2Tier
})
