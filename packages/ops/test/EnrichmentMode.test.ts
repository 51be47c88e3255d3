import { describe, expect, it } from "@effect/vitest"
import { layerRedis } from "@llm-gateway/storage/RedisCacheStore"
import { Context, Effect, Layer } from "effect"
import { inject } from "vitest"
import { EnrichmentMode, REDIS_KEY } from "../src/EnrichmentMode.ts"
import * as Redis from "effect/persistence/Redis"

const redisUrl = () => process.env.REDIS_URL ?? inject("redisUrl")!

/** One gateway instance: its own Redis connection, its own EnrichmentMode. */
const instance = () =>
  Effect.map(Layer.build(EnrichmentMode.layerRedis("enriched").pipe(Layer.provideMerge(layerRedis({ url: redisUrl() })))), (ctx) => ({
    mode: Context.get(ctx, EnrichmentMode),
    redis: Context.get(ctx, Redis.Redis)
  }))

describe("EnrichmentMode on Redis", () => {
  it.live("a mode switched on one instance is the mode of another sharing the Redis", () =>
    Effect.gen(function*() {
      const a = yield* instance()
      const b = yield* instance()
      yield* a.redis.send("DEL", REDIS_KEY)
      expect(yield* b.mode.get).toBe("enriched")
      yield* a.mode.set("transparent")
      expect(yield* b.mode.get).toBe("transparent")
      yield* b.mode.set("transparent_with_recommendations")
      expect(yield* a.mode.get).toBe("transparent_with_recommendations")
      yield* a.redis.send("DEL", REDIS_KEY)
    }).pipe(Effect.scoped))

  it.effect("memory: this instance only", () =>
    Effect.gen(function*() {
      const mode = yield* EnrichmentMode
      yield* mode.set("transparent")
      expect(yield* mode.get).toBe("transparent")
    }).pipe(Effect.provide(EnrichmentMode.layerMemory("enriched"))))
})
