/**
 * One plan per request (issue 12): the manager asks the router for the plan, keys the cache on
 * it and runs that same plan; round-robin advances when a plan runs, not when it is made, so a
 * cache hit leaves the rotation where it was, and a plan whose turn another request took in
 * the meantime is ordered again with the turn it really got.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CacheService } from "../src/cache/CacheService.ts"
import { ConversationStorage } from "../src/conversations/ConversationStorage.ts"
import type { RoutePlan } from "../src/routing/ModelRouter.ts"
import { LLMManager, make } from "../src/manager/LLMManager.ts"
import { ModelRouter } from "../src/routing/ModelRouter.ts"
import { UsageAccounting } from "../src/accounting/UsageAccounting.ts"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

/** Two deployments of one alias: round-robin alternates between them. */
const config = gatewayConfig(
  [provider("a", "openai", [{ id: "m", alias: "shared" }]), provider("b", "openai", [{ id: "m", alias: "shared" }])],
  { fallbackOrder: ["shared"], loadBalancing: "round-robin" }
)
const cacheConfig = { ...config.cache, enabled: true }

const setup = Effect.gen(function*() {
  const s = scripted([{ provider: "a" }, { provider: "b" }])
  const router = yield* makeRouter({ ...config, cache: cacheConfig }, s.layer)
  const seen = { plans: 0, runs: [] as Array<RoutePlan | undefined>, made: [] as Array<RoutePlan> }
  // the real router, watched: how often the manager plans, and which plan each run gets
  const watched = ModelRouter.of({
    ...router,
    plan: (req) => Effect.tap(router.plan(req), (p) => Effect.sync(() => (seen.plans++, seen.made.push(p)))),
    generate: (req, plan) => Effect.suspend(() => (seen.runs.push(plan), router.generate(req, plan)))
  })
  const services = yield* Layer.build(Layer.mergeAll(
    Layer.succeed(ModelRouter, watched),
    CacheService.layerMemory(cacheConfig),
    ConversationStorage.layerMemory(),
    UsageAccounting.layerMemory
  ))
  const manager = yield* Effect.provide(make, services) as Effect.Effect<LLMManager["Service"]>
  return { manager, router, seen }
})

describe("one plan per request", () => {
  it.effect("the cached path plans once and runs the plan its key came from", () =>
    Effect.scoped(Effect.gen(function*() {
      const { manager, seen } = yield* setup
      yield* manager.generate({ prompt: "one" })
      expect(seen.plans).toBe(1)
      expect(seen.runs).toHaveLength(1)
      expect(seen.runs[0]).toBe(seen.made[0])
    })))

  it.effect("a cache hit does not move round-robin; runs alternate the deployments", () =>
    Effect.scoped(Effect.gen(function*() {
      const { manager } = yield* setup
      const first = yield* manager.generate({ prompt: "one" })
      expect((yield* manager.generate({ prompt: "one" })).cached).toBe(true)
      const second = yield* manager.generate({ prompt: "two" })
      expect([first.provider, second.provider].sort()).toEqual(["a", "b"])
    })))

  it.effect("chat plans a turn once and runs that plan, fitted to the history it sends", () =>
    Effect.scoped(Effect.gen(function*() {
      const { manager, seen } = yield* setup
      const first = yield* manager.chat("c1", "hello there")
      const second = yield* manager.chat("c1", "and again")
      expect(seen.plans).toBe(2)
      expect(seen.runs).toHaveLength(2)
      // the second turn carries the first turn and its answer: same order, the whole prompt counted
      const run = seen.runs[1]!
      expect(run.candidates.map((c) => c.ref)).toEqual(seen.made[1].candidates.map((c) => c.ref))
      expect(run.promptTokens).toBeGreaterThan(seen.made[1].promptTokens)
      // running the plan commits its round-robin turn: the turns alternate the deployments
      expect([first.provider, second.provider].sort()).toEqual(["a", "b"])
    })))

  it.effect("a plan whose round-robin turn was taken meanwhile runs with the turn it got", () =>
    Effect.scoped(Effect.gen(function*() {
      const { router } = yield* setup
      const p1 = yield* router.plan({ prompt: "x" })
      const p2 = yield* router.plan({ prompt: "y" })
      // both peeked at the same turn; the second to run must not repeat the first's deployment
      expect(p2.candidates[0].ref).toBe(p1.candidates[0].ref)
      const r1 = yield* router.generate({ prompt: "x" }, p1)
      const r2 = yield* router.generate({ prompt: "y" }, p2)
      expect(r1.ref).not.toBe(r2.ref)
    })))
})
