/**
 * The shared L2 of the response cache on Redis: every gateway instance pointing at the same
 * Redis sees the entries the others stored.
 *
 * Bounded twice, by Redis itself: each entry carries the cache TTL (`SET … PX`), and every write
 * runs one Lua script that also records the key in a sorted index (score: its expiry time,
 * from Redis's own clock) and deletes the entries that expire soonest while the index holds
 * more than `maxEntries` (the gateway passes `cache.maxSize`), so the tier never holds more
 * than `maxEntries` live entries whatever the number of instances. The script is atomic, so
 * concurrent writers cannot both skip the trim. (It touches keys it does not declare: one
 * Redis, not Redis Cluster.)
 *
 * The `Redis` service here is the resilient one of `internal/redisClient.ts` (background
 * connect, no offline queue, endless reconnect, one log line per outage), so the gateway starts
 * and serves while Redis is down. `CacheService` bounds each call with its own short timeout
 * and treats a failure as a miss.
 *
 * ```ts
 * const cache = CacheService.layer(config.cache).pipe(Layer.provide(RedisCacheStore.layer({ url: config.redis.url })), Layer.provide(Embedder.layerNone))
 * ```
 */
import { CacheL2, CacheL2Error } from "@llm-gateway/core/cache/CacheL2"
import { Effect, Layer } from "effect"
import * as Redis from "effect/persistence/Redis"
import { makeResilientRedis, type ResilientRedisOptions } from "./internal/redisClient.ts"

export type { ResilientRedisOptions }

/** Keys live under `llm-gateway-cache:<key>`; the key itself carries a layout version. */
export const STORE_ID = "llm-gateway-cache"
/** The sorted set of every entry key by expiry time (a cache key is a hash, never this name). */
export const INDEX_KEY = `${STORE_ID}:_index`
/** Entries the L2 keeps when no bound is given (the gateway passes `cache.maxSize`). */
export const DEFAULT_MAX_ENTRIES = 10_000

export interface RedisCacheOptions {
  /** Live entries the shared tier keeps at most; the soonest to expire go first. */
  readonly maxEntries?: number | undefined
}

/**
 * SET with expiry, index the key by its expiry time, forget index members that already
 * expired, and delete the soonest-expiring entries past the bound. Returns how many it evicted.
 */
const setBounded = Redis.script(
  (key: string, value: string, ttlMs: number, maxEntries: number) => [key, INDEX_KEY, value, ttlMs, maxEntries],
  {
    numberOfKeys: 2,
    lua: `
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - max
if over > 0 then
  local victims = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  for i = 1, #victims, 500 do
    redis.call('DEL', unpack(victims, i, math.min(i + 499, #victims)))
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return math.max(over, 0)
`
  }
).withReturnType<number>()

/** The innermost message: "The client is offline" says more than "Failed to get key …". */
const rootMessage = (what: string, error: Redis.RedisError): string => {
  let cause: unknown = error.cause
  while (cause !== null && typeof cause === "object" && "cause" in cause && cause.cause !== undefined) {
    cause = cause.cause
  }
  const detail = cause instanceof Error ? cause.message || cause.name : String(cause)
  return `${what}: ${detail}`
}

const toL2Error = (what: string) => (error: Redis.RedisError) =>
  new CacheL2Error({ message: rootMessage(what, error), cause: error })

/** `CacheL2` over whatever `Redis` service is in context, keeping at most `maxEntries`. */
export const layerFromRedisWith = (options: RedisCacheOptions = {}): Layer.Layer<CacheL2, never, Redis.Redis> =>
  Layer.effect(
    CacheL2,
    Effect.gen(function*() {
      const redis = yield* Redis.Redis
      const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES)
      const set = redis.eval(setBounded)
      return CacheL2.of({
        get: (key) =>
          redis.send<string | null>("GET", `${STORE_ID}:${key}`).pipe(
            Effect.mapError(toL2Error(`Failed to get key ${key} from Redis`)),
            Effect.flatMap((raw) => {
              if (raw === null || raw === undefined) return Effect.succeed(undefined)
              try {
                return Effect.succeed(JSON.parse(raw) as unknown)
              } catch {
                // another version's or a corrupt value is a miss; the next write replaces it
                return Effect.succeed(undefined)
              }
            })
          ),
        set: (key, value, ttlMs) =>
          set(`${STORE_ID}:${key}`, JSON.stringify(value), Math.max(1, Math.ceil(ttlMs)), maxEntries).pipe(
            Effect.mapError(toL2Error(`Failed to set key ${key} in Redis`)),
            Effect.asVoid
          )
      })
    })
  )

/** `CacheL2` over whatever `Redis` service is in context (at most {@link DEFAULT_MAX_ENTRIES}). */
export const layerFromRedis: Layer.Layer<CacheL2, never, Redis.Redis> = layerFromRedisWith()

/**
 * Effect's `Redis` service on a client that connects in the background and never queues while
 * offline. Never fails to build; also usable by other Redis-backed stores (limits, breakers).
 */
export const layerRedis = (options: ResilientRedisOptions): Layer.Layer<Redis.Redis> =>
  Layer.effect(Redis.Redis, Effect.map(makeResilientRedis(options), ({ redis }) => redis))

/** `CacheL2` on its own Redis connection (`redis.url` from the gateway config). */
export const layer = (options: ResilientRedisOptions & RedisCacheOptions): Layer.Layer<CacheL2> =>
  layerFromRedisWith(options).pipe(Layer.provide(layerRedis(options)))
