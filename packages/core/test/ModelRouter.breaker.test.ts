/**
 * Circuit breakers (seed 002: 5 failures open, 60 s, 2 successes close) and rate limits, on
 * TestClock with scripted clients.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Stream } from "effect"
import { TestClock } from "effect/testing"
import { attemptsOf, InvalidRequest, NetworkError } from "../src/domain/LLMError.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

const ab = (routing: Parameters<typeof gatewayConfig>[1] = {}, extraA: Parameters<typeof provider>[3] = {}) =>
  gatewayConfig([provider("a", "openai", ["m"], extraA), provider("b", "openai", ["m"])], {
    strategy: "performance",
    tasks: { general: ["a/m", "b/m"] },
    maxRetries: 0,
    circuitBreaker: { failureThreshold: 5, successThreshold: 2, openMs: 60_000 },
    ...routing
  })

/** A client for "a" whose health a test switches. */
const switchable = () => {
  let healthy = false
  const s = scripted([
    {
      provider: "a",
      script: () => (healthy ? Scripted.ok("a is back") : Scripted.fail(new NetworkError({ model: "a/m", message: "down" })))
    },
    { provider: "b" }
  ])
  return { ...s, setHealthy: (h: boolean) => (healthy = h) }
}

const gauge = (state: string) =>
  Effect.map(Metric.snapshot, (snap) =>
    snap.find((m) =>
      m.id === "llm_circuit_breaker_state" && m.attributes?.provider === "a" && m.attributes?.state === state
    )?.state)

describe("ModelRouter circuit breaker", () => {
  it.effect("opens after failureThreshold failures, skips while open, probes after openMs, closes after successThreshold", () =>
    Effect.gen(function*() {
      const { layer, clients, setHealthy } = switchable()
      const router = yield* makeRouter(ab(), layer)
      const ask = router.generate({ prompt: "hi" })

      for (let i = 0; i < 5; i++) expect((yield* ask).ref).toBe("b/m")
      expect(clients.a.calls).toHaveLength(5)
      expect((yield* router.stats).deployments.find((d) => d.ref === "a/m")?.circuit).toBe("open")
      expect(yield* gauge("open")).toEqual({ value: 1 })

      // open: a is planned last and never called
      const plan = yield* router.plan({ prompt: "hi" })
      expect(plan.candidates.map((c) => [c.ref, c.health])).toEqual([["b/m", "healthy"], ["a/m", "open"]])
      for (let i = 0; i < 3; i++) yield* ask
      expect(clients.a.calls).toHaveLength(5)
      // even pinned to a, the request is answered by b without touching a
      const pinned = yield* router.generate({ prompt: "hi", model: "a/m" })
      expect(pinned.ref).toBe("b/m")
      expect(clients.a.calls).toHaveLength(5)

      setHealthy(true)
      yield* TestClock.adjust(59_999)
      yield* ask
      expect(clients.a.calls).toHaveLength(5)
      yield* TestClock.adjust(1)
      // one half-open probe goes to a; success starts the seed's second success
      expect((yield* router.plan({ prompt: "hi" })).candidates[0].ref).toBe("a/m")
      expect((yield* ask).content).toBe("a is back")
      expect(clients.a.calls).toHaveLength(6)
      expect((yield* router.stats).deployments.find((d) => d.ref === "a/m")?.circuit).toBe("half-open")
      expect(yield* gauge("half_open")).toEqual({ value: 1 })
      expect((yield* ask).ref).toBe("a/m")
      expect((yield* router.stats).deployments.find((d) => d.ref === "a/m")?.circuit).toBe("closed")
      expect(yield* gauge("closed")).toEqual({ value: 1 })
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("a candidate planned last for its open circuit still shows in the route as skipped:CircuitOpen (generate and stream)", () =>
    Effect.gen(function*() {
      const { layer, clients } = switchable()
      const router = yield* makeRouter(ab(), layer)
      for (let i = 0; i < 5; i++) yield* router.generate({ prompt: "hi" })
      expect((yield* router.stats).deployments.find((d) => d.ref === "a/m")?.circuit).toBe("open")
      const skippedA = { model: "a/m", outcome: "skipped:CircuitOpen", ms: 0 }

      // the caller named a: b answered, and the route says why a was not called
      const pinned = yield* router.generate({ prompt: "hi", model: "a/m" })
      expect(pinned.ref).toBe("b/m")
      expect(pinned.attempts.map((a) => [a.model, a.outcome])).toEqual([["a/m", "skipped:CircuitOpen"], ["b/m", "ok"]])
      expect(pinned.attempts[0]).toEqual(skippedA)
      const chunks = yield* Stream.runCollect(router.stream({ prompt: "hi", model: "a/m" }))
      expect(chunks[0].attempts?.map((a) => [a.model, a.outcome])).toEqual([["a/m", "skipped:CircuitOpen"], ["b/m", "ok"]])
      expect(clients.a.calls).toHaveLength(5)

      // a candidate the strategy ranked after the answer was never in the way: no row for it
      expect((yield* router.generate({ prompt: "hi", model: "b/m" })).attempts.map((a) => a.model)).toEqual(["b/m"])
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("a failed probe, or a failure before successThreshold successes, re-opens the circuit at once", () =>
    Effect.gen(function*() {
      const { layer, clients, setHealthy } = switchable()
      const router = yield* makeRouter(ab(), layer)
      const ask = router.generate({ prompt: "hi" })
      for (let i = 0; i < 5; i++) yield* ask
      yield* TestClock.adjust(60_000)
      yield* ask // probe fails
      expect(clients.a.calls).toHaveLength(6)
      expect((yield* router.stats).deployments[0].circuit).toBe("open")
      yield* ask
      expect(clients.a.calls).toHaveLength(6)

      yield* TestClock.adjust(60_000)
      setHealthy(true)
      yield* ask // probe succeeds: on probation
      setHealthy(false)
      yield* ask // one failure on probation is enough
      expect(clients.a.calls).toHaveLength(8)
      expect((yield* router.stats).deployments[0].circuit).toBe("open")
      yield* ask
      expect(clients.a.calls).toHaveLength(8)
    }).pipe(Effect.scoped))

  it.effect("failures that say nothing about the model (InvalidRequest) never open the circuit", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.fail(new InvalidRequest({ message: "bad role" }))] },
        { provider: "b" }
      ])
      const router = yield* makeRouter(ab({ circuitBreaker: { failureThreshold: 2, successThreshold: 1, openMs: 1000 } }), layer)
      for (let i = 0; i < 6; i++) yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(clients.a.calls).toHaveLength(6)
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
    }).pipe(Effect.scoped))

  it.effect("transitions are counted in llm_circuit_breaker_transitions_total", () =>
    Effect.gen(function*() {
      const { layer } = switchable()
      const router = yield* makeRouter(ab({ circuitBreaker: { failureThreshold: 1, successThreshold: 1, openMs: 10 } }), layer)
      yield* router.generate({ prompt: "hi" })
      const snap = yield* Metric.snapshot
      const opened = snap.find((m) =>
        m.id === "llm_circuit_breaker_transitions_total" && m.attributes?.from === "closed" && m.attributes?.to === "open"
      )
      expect(opened?.state).toEqual({ count: 1, incremental: true })
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))
})

describe("ModelRouter rate limits", () => {
  it.effect("a model at its rpm is skipped for the next candidate, not queued", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a" }, { provider: "b" }])
      const router = yield* makeRouter(ab({}, { rpm: 2 }), layer)
      const refs = []
      for (let i = 0; i < 3; i++) refs.push((yield* router.generate({ prompt: "hi" })).ref)
      expect(refs).toEqual(["a/m", "a/m", "b/m"])
      expect([clients.a.calls.length, clients.b.calls[0].at]).toEqual([2, 0])
      const stats = yield* router.stats
      expect(stats.deployments[0].rateLimit).toMatchObject({ rpm: 2, availableRequests: 0 })
      expect(stats.providers[0]).toMatchObject({ name: "a", availableRequests: 0, status: "available" })
      // the plan now puts a after b
      expect((yield* router.plan({ prompt: "hi" })).candidates.map((c) => c.health)).toEqual(["healthy", "rate-limited"])
      // the bucket refills one request per 30 s
      yield* TestClock.adjust(30_000)
      expect((yield* router.generate({ prompt: "hi" })).ref).toBe("a/m")
    }).pipe(Effect.scoped))

  it.effect("tpm counts the prompt's tokens", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{ provider: "a" }, { provider: "b" }])
      const router = yield* makeRouter(ab({}, { tpm: 1_000 }), layer)
      const prompt = "x".repeat(4 * 600) // ~600 tokens
      expect((yield* router.generate({ prompt })).ref).toBe("a/m")
      expect((yield* router.generate({ prompt })).ref).toBe("b/m")
    }).pipe(Effect.scoped))

  it.effect("the last candidate waits for room within routing.queueMs (and the deadline)", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a" }])
      const config = gatewayConfig([provider("a", "openai", ["m"], { rpm: 1 })], { timeoutMs: 90_000, queueMs: 60_000 })
      const router = yield* makeRouter(config, layer)
      yield* router.generate({ prompt: "hi" })
      const fiber = yield* Effect.forkChild(router.generate({ prompt: "hi" }))
      yield* TestClock.adjust(59_999)
      expect(clients.a.calls).toHaveLength(1)
      yield* TestClock.adjust(1)
      expect((yield* Fiber.join(fiber)).ref).toBe("a/m")
      expect(clients.a.calls.map((c) => c.at)).toEqual([0, 60_000])
    }).pipe(Effect.scoped))

  it.effect("past the deadline the caller gets RateLimitExceeded with a retry-after", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a" }])
      const config = gatewayConfig([provider("a", "openai", ["m"], { rpm: 1 })], { timeoutMs: 30_000 })
      const router = yield* makeRouter(config, layer)
      yield* router.generate({ prompt: "hi" })
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag === "RateLimitExceeded" && e.retryAfter).toBe(60_000)
      expect(attemptsOf(e)).toEqual([{ model: "a/m", outcome: "skipped:RateLimited", ms: 0 }])
      expect(clients.a.calls).toHaveLength(1)
      const limited = (yield* Metric.snapshot).find((m) => m.id === "llm_rate_limit_limited_total")
      expect(limited?.state).toEqual({ count: 1, incremental: true })
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))
})
