/**
 * `LLMResponse.latencyMs` is the time of the request it answers: a cache hit (L1, or a caller
 * that joined another's flight) reports its own time, not that of the request that filled the
 * cache. TestClock drives the upstream's delay.
 */
import { describe, expect, it } from "@effect/vitest"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { CacheService } from "../src/cache/CacheService.ts"
import { ConversationStorage } from "../src/conversations/ConversationStorage.ts"
import { LLMManager, make } from "../src/manager/LLMManager.ts"
import { ModelRouter } from "../src/routing/ModelRouter.ts"
import { UsageAccounting } from "../src/accounting/UsageAccounting.ts"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

const UPSTREAM_MS = 2_000

const makeManager = Effect.gen(function*() {
  const config = gatewayConfig([provider("openai", "openai", ["gpt-4o-mini"])], { fallbackOrder: ["openai/gpt-4o-mini"] })
  const cacheConfig = { ...config.cache, enabled: true }
  const { layer: clients } = scripted([{ provider: "openai", script: [Scripted.ok("slow answer", { delayMs: UPSTREAM_MS })] }])
  const router = yield* makeRouter({ ...config, cache: cacheConfig }, clients)
  // built in the test's scope: the cache's flights live as long as it
  const services = yield* Layer.build(Layer.mergeAll(
    Layer.succeed(ModelRouter, router),
    CacheService.layerMemory(cacheConfig),
    ConversationStorage.layerMemory(),
    UsageAccounting.layerMemory
  ))
  return yield* Effect.provide(make, services) as Effect.Effect<LLMManager["Service"]>
})

describe("LLMManager latencyMs on a cache hit", () => {
  it.effect("an L1 hit reports its own latency (0 under TestClock), the miss the upstream's", () =>
    Effect.scoped(Effect.gen(function*() {
      const manager = yield* makeManager
      const miss = yield* Effect.forkChild(manager.generate({ prompt: "how slow?" }))
      yield* TestClock.adjust(UPSTREAM_MS)
      const first = yield* Fiber.join(miss)
      expect([first.cached, first.latencyMs]).toEqual([false, UPSTREAM_MS])
      const hit = yield* manager.generate({ prompt: "how slow?" })
      expect(hit.content).toBe("slow answer")
      expect([hit.cached, hit.latencyMs]).toEqual([true, 0])
    })))

  it.effect("a caller that joins the flight halfway reports the half it waited", () =>
    Effect.scoped(Effect.gen(function*() {
      const manager = yield* makeManager
      const leader = yield* Effect.forkChild(manager.generate({ prompt: "shared" }))
      yield* TestClock.adjust(UPSTREAM_MS / 2)
      const joiner = yield* Effect.forkChild(manager.generate({ prompt: "shared" }))
      yield* TestClock.adjust(UPSTREAM_MS / 2)
      const [a, b] = [yield* Fiber.join(leader), yield* Fiber.join(joiner)]
      expect([a.cached, a.latencyMs]).toEqual([false, UPSTREAM_MS])
      expect([b.cached, b.latencyMs]).toEqual([true, UPSTREAM_MS / 2])
    })))
})
