import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { balancedScores, balanceMembers, orderByStrategy } from "../../src/routing/internal/Strategies.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted, seedProviders } from "./fixtures.ts"

const item = (position: number, cost: number, latency?: number) => ({ position, cost, latency })
const positions = (xs: ReadonlyArray<{ position: number }>) => xs.map((x) => x.position)

describe("strategies", () => {
  it("cost: cheapest first, equal cost keeps the configured order", () => {
    const out = orderByStrategy("cost", [item(0, 3), item(1, 0), item(2, 1), item(3, 0)])
    expect(positions(out)).toEqual([1, 3, 2, 0])
  })

  it("performance: measured candidates sorted by latency in their slots, unmeasured keep theirs", () => {
    const out = orderByStrategy("performance", [item(0, 0, 900), item(1, 0), item(2, 0, 100), item(3, 0, 500)])
    expect(positions(out)).toEqual([2, 1, 3, 0])
    expect(positions(orderByStrategy("performance", [item(0, 0), item(1, 0)]))).toEqual([0, 1])
  })

  it("balanced: (position + cost + latency)/3, ties keep the configured order", () => {
    // analysis with seed prices: dearest first, free last — position and cost cancel out exactly
    const seedLike = [item(0, 1), item(1, 0.5), item(2, 0)]
    expect(balancedScores(seedLike).map((s) => s.toFixed(4))).toEqual(["0.3333", "0.3333", "0.3333"])
    expect(positions(orderByStrategy("balanced", seedLike))).toEqual([0, 1, 2])
    // once latency is known, a slow first choice loses its place
    const measured = [item(0, 1, 4000), item(1, 0.5, 1000), item(2, 0, 2000)]
    expect(positions(orderByStrategy("balanced", measured))).toEqual([1, 2, 0])
    // an unmeasured candidate gets the mean normalised latency of the measured ones
    const scores = balancedScores([item(0, 0, 100), item(1, 0, 300), item(2, 0)])
    expect(scores[2]).toBeCloseTo((1 + (100 / 300 + 1) / 2) / 3)
  })

  it("round-robin rotates through the members", () => {
    const ms = [0, 1, 2].map((position) => ({ position, latency: undefined, weight: 1 }))
    const firsts = [0, 1, 2, 3].map((n) => balanceMembers("round-robin", ms, n, Math.random)[0].position)
    expect(firsts).toEqual([0, 1, 2, 0])
  })

  it("least-latency: unmeasured first, then fastest", () => {
    const ms = [{ position: 0, latency: 50, weight: 1 }, { position: 1, latency: 10, weight: 1 }, {
      position: 2,
      latency: undefined,
      weight: 1
    }]
    expect(positions(balanceMembers("least-latency", ms, 0, Math.random))).toEqual([2, 1, 0])
  })

  it("random and weighted are deterministic for a given random source, weighted follows the weights", () => {
    const lcg = (seed: number) => () => (seed = (seed * 1664525 + 1013904223) % 4294967296) / 4294967296
    const ms = [{ position: 0, latency: undefined, weight: 1 }, { position: 1, latency: undefined, weight: 3 }]
    expect(positions(balanceMembers("random", ms, 0, lcg(7)))).toEqual(positions(balanceMembers("random", ms, 0, lcg(7))))
    const rnd = lcg(42)
    let heavyFirst = 0
    for (let i = 0; i < 4000; i++) if (balanceMembers("weighted", ms, 0, rnd)[0].position === 1) heavyFirst++
    // P(weight-3 member first) = 3/4
    expect(heavyFirst / 4000).toBeGreaterThan(0.72)
    expect(heavyFirst / 4000).toBeLessThan(0.78)
  })
})

describe("strategies through the router", () => {
  it.effect("cost orders by this request's estimated cost; a per-request strategy overrides config", () =>
    Effect.gen(function*() {
      const { layer } = scripted([])
      const router = yield* makeRouter(gatewayConfig(seedProviders, { strategy: "performance" }), layer)
      const byConfig = yield* router.plan({ prompt: "hello", taskType: "analysis" })
      expect(byConfig.candidates.map((c) => c.ref)[0]).toBe("claude/claude-3-haiku-20240307")
      const cheap = yield* router.plan({ prompt: "hello", taskType: "analysis", preferences: { strategy: "cost" } })
      expect(cheap.candidates.map((c) => c.ref)).toEqual([
        "lmstudio/llama-3.1-8b",
        "openai/gpt-4o-mini",
        "claude/claude-3-haiku-20240307"
      ])
      // balanced with seed prices and no latency yet: haiku costs twice gpt-4o-mini and local is
      // free, but that is what the configured order already weighs — seed 003's order holds
      const balanced = yield* router.plan({ prompt: "hello", taskType: "analysis", preferences: { strategy: "balanced" } })
      expect(balanced.candidates.map((c) => c.ref)).toEqual([
        "claude/claude-3-haiku-20240307",
        "openai/gpt-4o-mini",
        "lmstudio/llama-3.1-8b"
      ])
      // cost uses maxTokens for the output: 1000 out at $0.6/1M plus ~2 in at $0.15/1M
      const gpt = (yield* router.plan({ prompt: "hello", preferences: { maxTokens: 1000 } })).candidates
        .find((c) => c.ref === "openai/gpt-4o-mini")!
      expect(gpt.estimatedCostUsd).toBeCloseTo((6 * 0.15 + 1000 * 0.6) / 1e6, 10)
    }).pipe(Effect.scoped))

  it.effect("performance follows the observed (decaying average) latency", () =>
    Effect.gen(function*() {
      const { layer } = scripted([
        { provider: "a", script: [Scripted.ok("slow", { delayMs: 800 })] },
        { provider: "b", script: [Scripted.ok("fast", { delayMs: 100 })] }
      ])
      const config = gatewayConfig([provider("a", "openai", ["m"]), provider("b", "openai", ["m"])], {
        strategy: "performance"
      })
      const router = yield* makeRouter(config, layer)
      const run = (model: string) =>
        Effect.gen(function*() {
          const f = yield* Effect.forkChild(router.generate({ prompt: "x", model }))
          yield* TestClock.adjust(1000)
          return yield* Fiber.join(f)
        })
      expect((yield* router.plan({ prompt: "x" })).candidates.map((c) => c.ref)).toEqual(["a/m", "b/m"])
      yield* run("a/m")
      yield* run("b/m")
      const plan = yield* router.plan({ prompt: "x" })
      expect(plan.candidates.map((c) => [c.ref, c.latencyMs])).toEqual([["b/m", 100], ["a/m", 800]])
    }).pipe(Effect.scoped))

  it.effect("deployments sharing an alias are balanced round-robin and fail over to each other", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "k1" }, { provider: "k2" }])
      const config = gatewayConfig([
        provider("k1", "openai", [{ id: "gpt-4o", alias: "gpt" }]),
        provider("k2", "openai", [{ id: "gpt-4o", alias: "gpt" }])
      ])
      const router = yield* makeRouter(config, layer)
      const answered = []
      for (let i = 0; i < 4; i++) {
        // a plan alone (the manager's cache key) shows the next order without taking a turn
        const next = (yield* router.plan({ prompt: "x", model: "gpt" })).candidates[0].provider
        const res = yield* router.generate({ prompt: "x", model: "gpt" })
        expect(res.provider).toBe(next)
        answered.push(res.provider)
      }
      expect(answered).toEqual(["k1", "k2", "k1", "k2"])
      expect([clients.k1.calls.length, clients.k2.calls.length]).toEqual([2, 2])
      const plan = yield* router.plan({ prompt: "x", model: "k2/gpt-4o" })
      expect(plan.candidates.map((c) => c.ref).sort()).toEqual(["k1/gpt-4o", "k2/gpt-4o"])
    }).pipe(Effect.scoped))

  it.effect("random balancing is reproducible from the seed", () =>
    Effect.gen(function*() {
      const config = gatewayConfig(
        ["r1", "r2", "r3", "r4"].map((n) => provider(n, "vllm", [{ id: "mixtral", alias: "mixtral" }])),
        { loadBalancing: "random" }
      )
      const orders = (seed: number) =>
        Effect.gen(function*() {
          const { layer } = scripted([])
          const router = yield* makeRouter(config, layer, { seed })
          const out: Array<string> = []
          for (let i = 0; i < 5; i++) out.push((yield* router.plan({ prompt: "x" })).candidates.map((c) => c.provider).join())
          return out
        })
      const a = yield* orders(3)
      expect(yield* orders(3)).toEqual(a)
      expect(new Set(a).size).toBeGreaterThan(1)
    }).pipe(Effect.scoped))
})
