/**
 * Property test of the route plan (the order computed before any attempt): for random health,
 * prices, latencies, windows, aliases, strategies and balancing modes, with a seeded random
 * source, the plan holds every eligible deployment once, puts rate-limited and open ones after
 * the healthy ones, and is a function of its inputs.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { makeDeploymentTable } from "../../src/routing/internal/Deployments.ts"
import { computePlan, type Health, type PlanInput } from "../../src/routing/internal/Planner.ts"
import { gatewayConfig, provider } from "./fixtures.ts"

const deploymentArb = fc.record({
  type: fc.constantFrom("openai", "anthropic", "ollama", "vllm", "gemini") as fc.Arbitrary<
    "openai" | "anthropic" | "ollama" | "vllm" | "gemini"
  >,
  input: fc.option(fc.double({ min: 0, max: 30, noNaN: true }), { nil: undefined }),
  output: fc.option(fc.double({ min: 0, max: 60, noNaN: true }), { nil: undefined }),
  window: fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
  alias: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
  weight: fc.option(fc.double({ min: 0.1, max: 10, noNaN: true }), { nil: undefined }),
  latency: fc.option(fc.double({ min: 1, max: 10_000, noNaN: true }), { nil: undefined }),
  health: fc.constantFrom<Health>("healthy", "healthy", "rate-limited", "open")
})

const scenarioArb = fc.record({
  deployments: fc.array(deploymentArb, { minLength: 1, maxLength: 10 }),
  strategy: fc.constantFrom("cost", "performance", "balanced") as fc.Arbitrary<"cost" | "performance" | "balanced">,
  loadBalancing: fc.constantFrom("round-robin", "least-latency", "random", "weighted") as fc.Arbitrary<
    "round-robin" | "least-latency" | "random" | "weighted"
  >,
  promptTokens: fc.integer({ min: 1, max: 10_000 }),
  maxTokens: fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
  seed: fc.integer(),
  counter: fc.nat(1_000)
})

/** A small deterministic PRNG: the plan's only randomness comes from here. */
const seeded = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never

const build = (sc: Scenario) => {
  const providers = sc.deployments.map((d, i) =>
    provider(`p${i}`, d.type, [{
      id: "m",
      inputCostPer1M: d.input,
      outputCostPer1M: d.output,
      contextWindow: d.window,
      alias: d.alias,
      weight: d.weight
    }])
  )
  const catalog = makeDeploymentTable(gatewayConfig(providers))
  const byRef = new Map<string, Scenario["deployments"][number]>(sc.deployments.map((d, i) => [`p${i}/m`, d]))
  const input = (): PlanInput => ({
    taskType: "general",
    groups: catalog.groups,
    strategy: sc.strategy,
    loadBalancing: sc.loadBalancing,
    promptTokens: sc.promptTokens,
    maxTokens: sc.maxTokens,
    latency: (ref) => byRef.get(ref)?.latency,
    health: (ref) => byRef.get(ref)!.health,
    counter: () => sc.counter,
    random: seeded(sc.seed)
  })
  return { catalog, byRef, input }
}

const rank = (h: Health) => (h === "healthy" ? 0 : h === "rate-limited" ? 1 : 2)

describe("route plan properties", () => {
  it("every eligible deployment once, unhealthy after healthy, deterministic", () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { catalog, byRef, input } = build(sc)
        const plan = computePlan(input())
        const refs = plan.candidates.map((c) => c.ref)
        // each eligible candidate exactly once; the ineligible (window too small) only in `excluded`
        const eligible = catalog.deployments
          .filter((d) => d.contextWindow === undefined || d.contextWindow >= sc.promptTokens)
          .map((d) => d.ref)
        expect(new Set(refs).size).toBe(refs.length)
        expect([...refs].sort()).toEqual([...eligible].sort())
        expect(plan.excluded.map((e) => e.ref).sort()).toEqual(
          catalog.deployments.map((d) => d.ref).filter((r) => !eligible.includes(r)).sort()
        )
        // healthy, then rate-limited, then open
        const ranks = plan.candidates.map((c) => rank(c.health))
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
        expect(plan.candidates.every((c) => c.health === byRef.get(c.ref)!.health)).toBe(true)
        // the same inputs give the same plan
        expect(computePlan(input()).candidates.map((c) => c.ref)).toEqual(refs)
      }),
      { numRuns: 400 }
    )
  })

  it("cost strategy over lone, healthy deployments never puts a dearer one first", () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const healthy = { ...sc, strategy: "cost" as const, deployments: sc.deployments.map((d) => ({ ...d, alias: undefined, health: "healthy" as const })) }
        const { input } = build(healthy)
        const costs = computePlan(input()).candidates.map((c) => c.estimatedCostUsd)
        expect(costs).toEqual([...costs].sort((a, b) => a - b))
      }),
      { numRuns: 200 }
    )
  })
})
