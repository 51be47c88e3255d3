/**
 * What the LLMError union decides, driven by TestClock and scripted clients: retries with
 * backoff and retry-after, failover, fail-fast, context-window fallback, deadlines.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import {
  attemptsOf,
  AuthenticationFailed,
  ConfigurationError,
  ContextTooLarge,
  InvalidRequest,
  ModelUnavailable,
  NetworkError,
  RateLimitExceeded
} from "../src/domain/LLMError.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

/** Providers a, b, c (one model "m" each) tried in that order. */
const abc = (routing: Parameters<typeof gatewayConfig>[1] = {}, windows: Array<number | undefined> = []) =>
  gatewayConfig(
    ["a", "b", "c"].map((p, i) => provider(p, "openai", [{ id: "m", contextWindow: windows[i] }])),
    { strategy: "performance", tasks: { general: ["a/m", "b/m", "c/m"] }, ...routing }
  )

/** Runs an effect while moving the TestClock far enough for every backoff to elapse. */
const withTime = <A, E>(effect: Effect.Effect<A, E>, ms = 120_000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust(ms)
    return yield* Fiber.join(fiber)
  })

const net = (model = "a/m") => new NetworkError({ model, message: "ECONNRESET" })

describe("ModelRouter retry and fallback rules", () => {
  it.effect("a retryable error retries the same model with growing backoff, then falls back", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a", script: [Scripted.fail(net())] }, { provider: "b" }])
      const router = yield* makeRouter(abc({ maxRetries: 2 }), layer)
      const res = yield* withTime(router.generate({ prompt: "hi" }))
      expect(res.ref).toBe("b/m")
      expect(res.attempts.map((a) => [a.model, a.outcome])).toEqual([
        ["a/m", "NetworkError"],
        ["a/m", "NetworkError"],
        ["a/m", "NetworkError"],
        ["b/m", "ok"]
      ])
      const at = clients.a.calls.map((c) => c.at)
      // 500 ms then 1000 ms, each jittered by ±20 %
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(400)
      expect(at[1] - at[0]).toBeLessThanOrEqual(600)
      expect(at[2] - at[1]).toBeGreaterThanOrEqual(800)
      expect(at[2] - at[1]).toBeLessThanOrEqual(1200)
      expect(clients.b.calls).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.effect("retry-after is honoured: no request before it", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{
        provider: "a",
        script: [Scripted.fail(new RateLimitExceeded({ model: "a/m", retryAfter: 7_000 })), Scripted.ok("second")]
      }])
      const router = yield* makeRouter(abc({ maxRetries: 1 }), layer)
      const fiber = yield* Effect.forkChild(router.generate({ prompt: "hi", model: "a/m" }))
      yield* TestClock.adjust(6_999)
      expect(clients.a.calls).toHaveLength(1)
      yield* TestClock.adjust(1)
      const res = yield* Fiber.join(fiber)
      expect(res.content).toBe("second")
      expect(clients.a.calls.map((c) => c.at)).toEqual([0, 7_000])
    }).pipe(Effect.scoped))

  it.effect("a retry-after beyond the deadline is not waited for: the next candidate answers now", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.fail(new RateLimitExceeded({ model: "a/m", retryAfter: 60_000 }))] },
        { provider: "b" }
      ])
      const router = yield* makeRouter(abc({ maxRetries: 3, timeoutMs: 30_000 }), layer)
      const res = yield* router.generate({ prompt: "hi" })
      expect([res.ref, clients.a.calls.length, clients.b.calls[0].at]).toEqual(["b/m", 1, 0])
      // and the plan now puts the rate-limited model after the healthy ones
      const plan = yield* router.plan({ prompt: "hi" })
      expect(plan.candidates.map((c) => [c.ref, c.health])).toEqual([
        ["b/m", "healthy"],
        ["c/m", "healthy"],
        ["a/m", "rate-limited"]
      ])
    }).pipe(Effect.scoped))

  it.effect("401 is never retried: the next candidate is tried at once", () =>
    Effect.gen(function*() {
      const auth = new AuthenticationFailed({ model: "a/m", message: "invalid api key", status: 401 })
      const { layer, clients } = scripted([{ provider: "a", script: [Scripted.fail(auth)] }, { provider: "b" }])
      const router = yield* makeRouter(abc({ maxRetries: 3 }), layer)
      const res = yield* router.generate({ prompt: "hi" })
      expect(res.attempts.map((a) => a.outcome)).toEqual(["AuthenticationFailed", "ok"])
      expect([clients.a.calls.length, clients.b.calls[0].at]).toEqual([1, 0])
    }).pipe(Effect.scoped))

  it.effect("AuthenticationFailed on every candidate is the error the caller gets, with the attempts", () =>
    Effect.gen(function*() {
      const script = [Scripted.fail(new AuthenticationFailed({ model: "x", message: "bad key", status: 401 }))]
      const { layer } = scripted([{ provider: "a", script }, { provider: "b", script }, { provider: "c", script }])
      const router = yield* makeRouter(abc(), layer)
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag).toBe("AuthenticationFailed")
      expect(attemptsOf(e)?.map((a) => a.model)).toEqual(["a/m", "b/m", "c/m"])
    }).pipe(Effect.scoped))

  it.effect("ConfigurationError falls back at once, without retry", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.fail(new ConfigurationError({ message: "no such deployment" }))] },
        { provider: "b" }
      ])
      const router = yield* makeRouter(abc({ maxRetries: 3 }), layer)
      expect((yield* router.generate({ prompt: "hi" })).ref).toBe("b/m")
      expect(clients.a.calls).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.effect("InvalidRequest fails at once: no retry, no fallback", () =>
    Effect.gen(function*() {
      const bad = new InvalidRequest({ model: "a/m", message: "temperature must be <= 2", param: "temperature" })
      const { layer, clients } = scripted([{ provider: "a", script: [Scripted.fail(bad)] }, { provider: "b" }])
      const router = yield* makeRouter(abc({ maxRetries: 3 }), layer)
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag).toBe("InvalidRequest")
      expect(attemptsOf(e)).toEqual([{ model: "a/m", outcome: "InvalidRequest", ms: 0 }])
      expect([clients.a.calls.length, clients.b.calls.length]).toEqual([1, 0])
    }).pipe(Effect.scoped))

  it.effect("ContextTooLarge falls back only to candidates with a larger context window", () =>
    Effect.gen(function*() {
      const tooLarge = new ContextTooLarge({ model: "a/m", tokenCount: 9_000, contextWindow: 8_192 })
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.fail(tooLarge)] },
        { provider: "b" },
        { provider: "c" }
      ])
      const router = yield* makeRouter(abc({ maxRetries: 3 }, [8_192, 4_096, 128_000]), layer)
      const res = yield* router.generate({ prompt: "hi" })
      expect(res.ref).toBe("c/m")
      expect(res.attempts.map((a) => [a.model, a.outcome])).toEqual([
        ["a/m", "ContextTooLarge"],
        ["b/m", "skipped:ContextTooLarge"],
        ["c/m", "ok"]
      ])
      expect([clients.a.calls.length, clients.b.calls.length]).toEqual([1, 0])
    }).pipe(Effect.scoped))

  it.effect("ContextTooLarge with no larger window left is what the caller gets", () =>
    Effect.gen(function*() {
      const tooLarge = new ContextTooLarge({ model: "a/m", tokenCount: 9_000 })
      const { layer } = scripted([{ provider: "a", script: [Scripted.fail(tooLarge)] }, { provider: "b" }])
      const router = yield* makeRouter(abc({}, [8_192, 8_192, 4_096]), layer)
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag).toBe("ContextTooLarge")
      expect(attemptsOf(e)?.map((a) => a.outcome)).toEqual(["ContextTooLarge", "skipped:ContextTooLarge", "skipped:ContextTooLarge"])
    }).pipe(Effect.scoped))

  it.effect("a hung first candidate times out after attemptTimeoutMs and leaves time for the next", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a", script: [Scripted.hang] }, { provider: "b" }])
      const router = yield* makeRouter(abc({ maxRetries: 0, attemptTimeoutMs: 2_000, timeoutMs: 5_000 }), layer)
      const res = yield* withTime(router.generate({ prompt: "hi" }), 10_000)
      expect(res.ref).toBe("b/m")
      expect(res.attempts).toEqual([{ model: "a/m", outcome: "TimeoutError", ms: 2_000 }, {
        model: "b/m",
        outcome: "ok",
        ms: 0
      }])
      expect(res.latencyMs).toBe(2_000)
      expect(res.upstreamMs).toBe(0)
      expect(clients.a.interrupted()).toBe(1) // the hung call was abandoned, not leaked
    }).pipe(Effect.scoped))

  it.effect("the chain deadline holds: routing.timeoutMs bounds every attempt and backoff together", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.hang] },
        { provider: "b", script: [Scripted.hang] },
        { provider: "c", script: [Scripted.hang] }
      ])
      const router = yield* makeRouter(abc({ maxRetries: 1, attemptTimeoutMs: 2_000, timeoutMs: 5_000 }), layer)
      const fiber = yield* Effect.forkChild(Effect.flip(router.generate({ prompt: "hi" })))
      yield* TestClock.adjust(4_999)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      const e = yield* Fiber.join(fiber)
      expect(e._tag === "TimeoutError" && e.timeoutMs).toBe(5_000)
      const total = (attemptsOf(e) ?? []).reduce((a, x) => a + x.ms, 0)
      expect(total).toBeLessThanOrEqual(5_000)
      expect(clients.c.calls.length + clients.b.calls.length + clients.a.calls.length).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.scoped))

  it.effect("when everything fails the caller gets the most informative error, not 'all failed'", () =>
    Effect.gen(function*() {
      const { layer } = scripted([
        { provider: "a", script: [Scripted.fail(net())] },
        { provider: "b", script: [Scripted.fail(new RateLimitExceeded({ model: "b/m", retryAfter: 3_000 }))] },
        { provider: "c", script: [Scripted.fail(new ModelUnavailable({ model: "c/m", message: "overloaded", status: 503 }))] }
      ])
      const router = yield* makeRouter(abc({ maxRetries: 0 }), layer)
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag === "RateLimitExceeded" && e.retryAfter).toBe(3_000)
      expect(attemptsOf(e)?.map((a) => a.outcome)).toEqual(["NetworkError", "RateLimitExceeded", "ModelUnavailable"])
    }).pipe(Effect.scoped))

  it.effect("an upstream x-should-retry: false is respected", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.fail(new ModelUnavailable({ model: "a/m", message: "gone", shouldRetry: false }))] },
        { provider: "b" }
      ])
      const router = yield* makeRouter(abc({ maxRetries: 3 }), layer)
      expect((yield* router.generate({ prompt: "hi" })).ref).toBe("b/m")
      expect(clients.a.calls).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.effect("a routed response carries cost from the configured prices and the provider's usage", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{
        provider: "p",
        script: [Scripted.ok("answer", { usage: { promptTokens: 1_000, completionTokens: 500, totalTokens: 1_500 }, delayMs: 40 })]
      }])
      const config = gatewayConfig([
        provider("p", "openai", [{ id: "m", inputCostPer1M: 2, outputCostPer1M: 8 }]),
        provider("local", "ollama", ["llama3.2"])
      ])
      const router = yield* makeRouter(config, layer)
      const res = yield* withTime(router.generate({ prompt: "hi", model: "p/m" }), 100)
      expect(res).toMatchObject({ content: "answer", provider: "p", model: "m", ref: "p/m", finishReason: "stop" })
      expect(res.costUsd).toBeCloseTo((1_000 * 2 + 500 * 8) / 1e6, 12)
      expect([res.latencyMs, res.upstreamMs]).toEqual([40, 40])
    }).pipe(Effect.scoped))
})
