import { describe, expect, it } from "@effect/vitest"
import { CacheService, type CacheServiceShape, defaultConfig } from "@llm-gateway/core/CacheService"
import type { LLMResponse } from "@llm-gateway/core/Domain"
import { startPrivateRedis } from "@llm-gateway/testing/services/PrivateRedis"
import { Context, Effect, Layer, Logger, Option } from "effect"
import { randomUUID } from "node:crypto"
import { createClient } from "redis"
import { inject } from "vitest"
import * as RedisCacheStore from "../src/RedisCacheStore.ts"

const redisUrl = () => process.env.REDIS_URL ?? inject("redisUrl")

const response = (content: string): LLMResponse => ({
  content,
  provider: "openai",
  model: "gpt-4o-mini",
  usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8 },
  costUsd: 0.001,
  latencyMs: 12,
  cached: false,
  finishReason: "stop",
  attempts: [{ model: "openai/gpt-4o-mini", outcome: "ok", ms: 12 }]
})

/** One gateway instance: its own CacheService and its own Redis connection. */
const instance = (url: string, ttlSeconds = 3600) =>
  Layer.build(
    CacheService.layer({ ...defaultConfig, ttlSeconds }, { l2RetryMs: 200 }).pipe(
      Layer.provide(RedisCacheStore.layer({ url }))
    )
  ).pipe(Effect.map((ctx) => Context.get(ctx, CacheService)))

const upstream = () => {
  let calls = 0
  return { compute: Effect.sync(() => response(`computed #${++calls}`)), calls: () => calls }
}

/** Each test works in its own tenant, so tests sharing the global Redis never meet. */
const keyFor = (cache: CacheServiceShape, scope: string, prompt: string) =>
  cache.key({ prompt }, { scope, candidates: ["openai/gpt-4o-mini"] })

const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, timeoutMs = 5000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`condition not met within ${timeoutMs} ms`))
      yield* Effect.sleep(25)
    }
  })

/** Looks without computing (a miss stores nothing), so polling does not fill the cache itself. */
const isHit = (cache: CacheServiceShape, key: string) => Effect.map(cache.get(key), Option.isSome)

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const a = yield* effect
    return [a, performance.now() - start] as const
  })

const captureLogs = () => {
  const lines: Array<{ level: string; message: string }> = []
  const logger = Logger.make((o) => {
    lines.push({ level: o.logLevel, message: Array.isArray(o.message) ? o.message.join(" ") : String(o.message) })
  })
  return { lines, layer: Logger.layer([logger]) }
}

describe("RedisCacheStore", () => {
  it.live("two instances sharing one Redis see each other's entries, and an L2 hit fills L1", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = redisUrl()
      const scope = randomUUID()
      const a = yield* instance(url)
      const b = yield* instance(url)
      const up = upstream()
      const key = keyFor(a, scope, "What is the CPU usage?")
      expect((yield* a.getOrCompute(key, up.compute)).cache).toBe("miss")
      // the L2 write is off A's response path: B sees it a moment later
      yield* eventually(isHit(b, key))
      expect((yield* b.getOrCompute(key, up.compute)).response).toMatchObject({ content: "computed #1", cached: true })
      expect(up.calls()).toBe(1)

      // the entry in Redis is namespaced and expires with the cache TTL
      const raw = createClient({ url })
      yield* Effect.promise(() => raw.connect())
      const redisKey = `${RedisCacheStore.STORE_ID}:${key}`
      const ttl = yield* Effect.promise(() => raw.pTTL(redisKey))
      expect(ttl).toBeGreaterThan(3_500_000)
      expect(ttl).toBeLessThanOrEqual(3_600_000)
      // after removing it from Redis, B still answers from its L1 while a fresh instance misses
      yield* Effect.promise(() => raw.del(redisKey))
      yield* Effect.promise(() => raw.close())
      expect((yield* b.getOrCompute(key, up.compute)).cache).toBe("hit")
      const c = yield* instance(url)
      expect((yield* c.getOrCompute(key, up.compute)).cache).toBe("miss")
      expect((yield* a.stats).l2Errors + (yield* b.stats).l2Errors + (yield* c.stats).l2Errors).toBe(0)
    })))

  it.live("Redis killed mid-test: requests stay fast, errors are counted and logged once, L2 is used again after restart", () => {
    const logs = captureLogs()
    return Effect.scoped(Effect.gen(function*() {
      const redis = yield* Effect.acquireRelease(Effect.promise(() => startPrivateRedis()), (r) => Effect.promise(() => r.stop()))
      const scope = randomUUID()
      const a = yield* instance(redis.url)
      const b = yield* instance(redis.url)
      const up = upstream()
      const before = keyFor(a, scope, "before the outage")
      yield* a.getOrCompute(before, up.compute)
      yield* eventually(isHit(b, before))

      yield* Effect.promise(() => redis.kill())
      for (let i = 0; i < 10; i++) {
        const [result, ms] = yield* timed(a.getOrCompute(keyFor(a, scope, `during the outage ${i}`), up.compute))
        expect(result.cache).toBe("miss")
        expect(ms).toBeLessThan(250)
        yield* Effect.sleep(30) // spans several L2 retry windows
      }
      // what A already had is still served from its L1
      expect((yield* a.getOrCompute(before, up.compute)).cache).toBe("hit")
      const down = yield* a.stats
      expect(down.l2Errors).toBeGreaterThanOrEqual(1)
      expect(down.l2Available).toBe(false)
      const cacheWarnings = () => logs.lines.filter((l) => l.level === "Warn" && l.message.includes("cache L2 unavailable"))
      expect(cacheWarnings()).toHaveLength(1) // A's one warning, not one per request
      const clientWarnings = logs.lines.filter((l) => l.level === "Warn" && l.message.includes("connection lost"))
      expect(clientWarnings.length).toBeLessThanOrEqual(2) // at most one per client (A and B)

      yield* Effect.promise(() => redis.restart())
      let n = 0
      yield* eventually(Effect.gen(function*() {
        yield* a.getOrCompute(keyFor(a, scope, `after the restart ${n++}`), up.compute)
        return (yield* a.stats).l2Available
      }))
      const after = keyFor(a, scope, "shared again")
      yield* a.getOrCompute(after, up.compute)
      yield* eventually(isHit(b, after))
      expect(logs.lines.filter((l) => l.message.includes("cache L2 available again")).length).toBeGreaterThanOrEqual(1)
      expect(cacheWarnings().length).toBeLessThanOrEqual(2) // A's and at most B's, still once each
    })).pipe(Effect.provide(logs.layer))
  }, 20_000)

  it.live("the cache starts while Redis is down and uses it once it comes up", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* Effect.acquireRelease(Effect.promise(() => startPrivateRedis()), (r) => Effect.promise(() => r.stop()))
      yield* Effect.promise(() => redis.kill())
      const scope = randomUUID()
      const [a, startMs] = yield* timed(instance(redis.url))
      expect(startMs).toBeLessThan(250)
      const up = upstream()
      const [first, ms] = yield* timed(a.getOrCompute(keyFor(a, scope, "cold start"), up.compute))
      expect(first.cache).toBe("miss")
      expect(ms).toBeLessThan(250)
      expect(yield* a.stats).toMatchObject({ l2Available: false })
      expect((yield* a.stats).l2Errors).toBeGreaterThanOrEqual(1)

      yield* Effect.promise(() => redis.restart())
      const b = yield* instance(redis.url)
      let n = 0
      yield* eventually(Effect.gen(function*() {
        yield* a.getOrCompute(keyFor(a, scope, `warming ${n++}`), up.compute)
        return (yield* a.stats).l2Available
      }))
      const key = keyFor(a, scope, "now shared")
      yield* a.getOrCompute(key, up.compute)
      yield* eventually(isHit(b, key))
    })), 20_000)

  it.live("never logs the Redis password", () => {
    const logs = captureLogs()
    return Effect.scoped(Effect.gen(function*() {
      const redis = yield* Effect.acquireRelease(Effect.promise(() => startPrivateRedis()), (r) => Effect.promise(() => r.stop()))
      yield* Effect.promise(() => redis.kill())
      const a = yield* instance(`redis://gateway:s3cret-pass@127.0.0.1:${redis.port}`)
      yield* a.getOrCompute(keyFor(a, randomUUID(), "x"), Effect.succeed(response("x")))
      yield* Effect.sleep(300) // a few reconnect attempts
      const warnings = logs.lines.filter((l) => l.level === "Warn")
      expect(warnings.some((l) => l.message.includes(`127.0.0.1:${redis.port}`))).toBe(true)
      expect(warnings.filter((l) => l.message.includes("not reachable"))).toHaveLength(1)
      expect(logs.lines.some((l) => l.message.includes("s3cret"))).toBe(false)
    })).pipe(Effect.provide(logs.layer))
  }, 20_000)
})
