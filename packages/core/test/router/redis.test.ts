/**
 * Two router instances sharing Effect's Redis breaker and limiter stores act as one gateway:
 * a circuit opened by one is open for the other, and the rpm budget is global. Runs against the
 * throw-away Redis of the vitest global setup (REDIS_URL), on the real clock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CircuitBreaker, RateLimiter } from "effect/persistence"
import { inject } from "vitest"
import { NetworkError } from "../../src/domain/LLMError.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted } from "./fixtures.ts"
import { layerResp } from "./respRedis.ts"

const redisUrl = () => process.env.REDIS_URL ?? inject("redisUrl")

/** One instance's stores: its own Redis connection, the fleet's key prefix. */
const stores = (prefix: string) =>
  Layer.mergeAll(
    CircuitBreaker.layerStoreRedis({ prefix: `${prefix}:cb:` }),
    RateLimiter.layerStoreRedis({ prefix: `${prefix}:rl:` })
  ).pipe(Layer.provide(layerResp(redisUrl())))

const config = (rpm?: number) =>
  gatewayConfig([provider("a", "openai", ["m"], { rpm }), provider("b", "openai", ["m"])], {
    strategy: "performance",
    tasks: { general: ["a/m", "b/m"] },
    maxRetries: 0,
    circuitBreaker: { failureThreshold: 2, successThreshold: 1, openMs: 60_000 }
  })

const instance = (prefix: string, rpm: number | undefined, failing: boolean) =>
  Effect.gen(function*() {
    const s = scripted([
      {
        provider: "a",
        script: [failing ? Scripted.fail(new NetworkError({ model: "a/m", message: "down" })) : Scripted.ok()]
      },
      { provider: "b" }
    ])
    const router = yield* makeRouter(config(rpm), s.layer, {}, Layer.succeedContext(yield* Layer.build(stores(prefix))))
    return { router, clients: s.clients }
  })

describe("ModelRouter with the Redis stores", () => {
  it.live("a circuit opened by one instance is open for the other", () =>
    Effect.gen(function*() {
      const prefix = `router-test-${Date.now()}-${Math.random().toString(36).slice(2)}`
      const one = yield* instance(prefix, undefined, true)
      const two = yield* instance(prefix, undefined, false)
      for (let i = 0; i < 2; i++) expect((yield* one.router.generate({ prompt: "hi" })).ref).toBe("b/m")
      expect(one.clients.a.calls).toHaveLength(2)
      // instance two has never seen a fail, yet the shared circuit keeps it off a
      const res = yield* two.router.generate({ prompt: "hi" })
      expect(res.ref).toBe("b/m")
      expect(res.attempts[0]).toEqual({ model: "a/m", outcome: "skipped:CircuitOpen", ms: 0 })
      expect(two.clients.a.calls).toHaveLength(0)
      expect((yield* two.router.stats).deployments[0].circuit).toBe("open")
      // and now its own plans put a last
      expect((yield* two.router.plan({ prompt: "hi" })).candidates.map((c) => c.health)).toEqual(["healthy", "open"])
    }).pipe(Effect.scoped))

  it.live("the rpm budget is global across instances", () =>
    Effect.gen(function*() {
      const prefix = `router-test-${Date.now()}-${Math.random().toString(36).slice(2)}`
      const one = yield* instance(prefix, 2, false)
      const two = yield* instance(prefix, 2, false)
      expect((yield* one.router.generate({ prompt: "hi" })).ref).toBe("a/m")
      expect((yield* two.router.generate({ prompt: "hi" })).ref).toBe("a/m")
      const third = yield* one.router.generate({ prompt: "hi" })
      expect(third.ref).toBe("b/m")
      expect(third.attempts[0].outcome).toBe("skipped:RateLimited")
      const stats = yield* two.router.stats
      expect(stats.deployments[0].rateLimit?.availableRequests).toBe(0)
    }).pipe(Effect.scoped))
})
