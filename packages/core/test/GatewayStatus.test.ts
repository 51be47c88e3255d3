/**
 * GatewayStatus: what the server's status, health and model routes read instead of reaching the
 * router, cache and clients. A provider whose health probe hangs is reported as timed out after
 * the bound (TestClock), beside one that answers.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { CacheService } from "../src/cache/CacheService.ts"
import { LLMConfig } from "../src/config/LLMConfig.ts"
import { GatewayStatus } from "../src/manager/GatewayStatus.ts"
import { ModelClients } from "../src/providers/ModelClients.ts"
import { ModelRouter } from "../src/routing/ModelRouter.ts"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

const build = Effect.gen(function*() {
  const config = gatewayConfig([
    provider("openai", "openai", ["gpt-4o-mini"]),
    provider("slow", "openai-compatible", ["m"])
  ])
  const { clients, layer: clientsLayer } = scripted([
    { provider: "openai", type: "openai", health: { healthy: true, latencyMs: 12, models: ["gpt-4o-mini"] } },
    { provider: "slow" }
  ])
  // the second provider's probe never answers
  const hanging = { ...clients.slow!.client, health: Effect.never }
  const router = yield* makeRouter(config, clientsLayer)
  const services = yield* Layer.build(GatewayStatus.layer.pipe(
    Layer.provide(Layer.mergeAll(
      Layer.succeed(LLMConfig, config),
      Layer.succeed(ModelRouter, router),
      CacheService.layerMemory(config.cache),
      ModelClients.layerFrom([clients.openai!.client, hanging])
    ))
  ))
  return { status: Context.get(services, GatewayStatus), config }
})

describe("GatewayStatus", () => {
  it.effect("lists the router's deployments and carries the config it was built from", () =>
    Effect.gen(function*() {
      const { status, config } = yield* build
      expect(status.config).toBe(config)
      expect(status.models.map((m) => `${m.provider}/${m.model}`)).toEqual(["openai/gpt-4o-mini", "slow/m"])
      const stats = yield* status.stats
      expect(stats.cache).toMatchObject({ hits: 0, misses: 0 })
      expect(Object.keys(stats.router)).not.toHaveLength(0)
    }))

  it.effect("reports a provider whose probe hangs as unhealthy after the bound, beside one that answers", () =>
    Effect.gen(function*() {
      const { status } = yield* build
      const probe = yield* Effect.forkChild(status.health(5_000))
      yield* TestClock.adjust("4999 millis")
      expect(probe.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const all = yield* Fiber.join(probe)
      expect(all).toEqual([
        { provider: "openai", type: "openai", healthy: true, latencyMs: 12, models: ["gpt-4o-mini"], error: undefined },
        { provider: "slow", type: "openai-compatible", healthy: false, latencyMs: 5_000, models: undefined, error: "no answer within 5000 ms" }
      ])
    }))
})
