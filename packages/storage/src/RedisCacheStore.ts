/**
 * The shared L2 of the response cache on Redis: every gateway instance pointing at the same
 * Redis sees the entries the others stored.
 *
 * Built from Effect's own parts: `Persistence.layerBackingRedis` (namespaced keys, JSON values,
 * `SET … PX` expiry) over the `Redis` service. The `Redis` service here is the resilient one of
 * `internal/redisClient.ts` (background connect, no offline queue, endless reconnect, one log
 * line per outage), so the gateway starts and serves while Redis is down. `CacheService` bounds
 * each call with its own short timeout and treats a failure as a miss.
 *
 * ```ts
 * const cache = CacheService.layer(config.cache).pipe(Layer.provide(RedisCacheStore.layer({ url: config.redis.url })))
 * ```
 */
import { CacheL2, CacheL2Error } from "@llm-gateway/core/CacheL2"
import { Duration, Effect, Layer } from "effect"
import * as Persistence from "effect/persistence/Persistence"
import * as Redis from "effect/persistence/Redis"
import { makeResilientRedis, type ResilientRedisOptions } from "./internal/redisClient.ts"

export type { ResilientRedisOptions }

/** Keys live under `llm-gateway-cache:<key>`; the key itself carries a layout version. */
export const STORE_ID = "llm-gateway-cache"

/** The innermost message: "The client is offline" says more than "Failed to get key …". */
const rootMessage = (error: Persistence.PersistenceError): string => {
  let cause: unknown = error.cause
  while (cause !== null && typeof cause === "object" && "cause" in cause && cause.cause !== undefined) {
    cause = cause.cause
  }
  const detail = cause instanceof Error ? cause.message || cause.name : undefined
  return detail !== undefined && detail !== error.message ? `${error.message}: ${detail}` : error.message
}

const toL2Error = (error: Persistence.PersistenceError) => new CacheL2Error({ message: rootMessage(error), cause: error })

/** `CacheL2` over whatever `Redis` service is in context. */
export const layerFromRedis: Layer.Layer<CacheL2, never, Redis.Redis> = Layer.effect(
  CacheL2,
  Effect.gen(function*() {
    const backing = yield* Persistence.BackingPersistence
    const store = yield* backing.make(STORE_ID)
    return CacheL2.of({
      get: (key) => Effect.mapError(store.get(key), toL2Error),
      set: (key, value, ttlMs) => Effect.mapError(store.set(key, value, Duration.millis(ttlMs)), toL2Error)
    })
  })
).pipe(Layer.provide(Persistence.layerBackingRedis))

/**
 * Effect's `Redis` service on a client that connects in the background and never queues while
 * offline. Never fails to build; also usable by other Redis-backed stores (limits, breakers).
 */
export const layerRedis = (options: ResilientRedisOptions): Layer.Layer<Redis.Redis> =>
  Layer.effect(Redis.Redis, Effect.map(makeResilientRedis(options), ({ redis }) => redis))

/** `CacheL2` on its own Redis connection (`redis.url` from the gateway config). */
export const layer = (options: ResilientRedisOptions): Layer.Layer<CacheL2> =>
  layerFromRedis.pipe(Layer.provide(layerRedis(options)))
