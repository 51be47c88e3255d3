/**
 * What the router answers when it cannot answer (issues 11 and 20): an error naming what the
 * caller asked for and why each candidate fell out; over-limit requests refused at once with
 * an honest retry-after; a provider's rpm shared by its models; a model asked for the wrong
 * kind of work refused as the caller's mistake. TestClock and scripted clients.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { attemptsOf, describe as describeError, NetworkError, RateLimitExceeded } from "../src/domain/LLMError.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

/** The README's two providers; a fallbackOrder like the README's. */
const twoProviders = (routing: Parameters<typeof gatewayConfig>[1] = {}, openaiExtra: Parameters<typeof provider>[3] = {}) =>
  gatewayConfig([
    provider("openai", "openai", ["gpt-4o-mini", { id: "text-embedding-3-small", embedding: true }], openaiExtra),
    provider("anthropic", "anthropic", ["claude-3-haiku-20240307"])
  ], {
    strategy: "performance",
    fallbackOrder: ["openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307"],
    maxRetries: 0,
    circuitBreaker: { failureThreshold: 2, successThreshold: 1, openMs: 60_000 },
    ...routing
  })

const down = (model: string) => Scripted.fail(new NetworkError({ model, message: "ECONNREFUSED" }))
const limited = (model: string) => Scripted.fail(new RateLimitExceeded({ model, retryAfter: 20_000 }))

describe("ModelRouter: the error names the request and every candidate's reason", () => {
  it.effect("a pinned model behind open circuits: the error names it, not the last candidate", () =>
    Effect.gen(function*() {
      const { layer } = scripted([
        { provider: "openai", script: () => down("openai/gpt-4o-mini") },
        { provider: "anthropic", script: () => limited("anthropic/claude-3-haiku-20240307") }
      ])
      const router = yield* makeRouter(twoProviders(), layer)
      // a burst of failures opens both circuits
      for (let i = 0; i < 2; i++) yield* Effect.flip(router.generate({ prompt: "hi", model: "openai/gpt-4o-mini" }))
      const e = yield* Effect.flip(router.generate({ prompt: "hi", model: "openai/gpt-4o-mini" }))
      expect(e._tag).toBe("ModelUnavailable")
      expect(attemptsOf(e)?.map((a) => a.outcome)).toEqual(["skipped:CircuitOpen", "skipped:CircuitOpen"])
      expect(describeError(e)).toBe(
        "openai/gpt-4o-mini: no candidate answered: openai/gpt-4o-mini: circuit open (retry in 60 s); " +
          "anthropic/claude-3-haiku-20240307: circuit open (retry in 60 s)"
      )
    }).pipe(Effect.scoped))

  it.effect("auto names the task; each candidate says why it fell out", () =>
    Effect.gen(function*() {
      const { layer } = scripted([
        { provider: "openai", script: () => down("openai/gpt-4o-mini") },
        { provider: "anthropic", script: () => limited("anthropic/claude-3-haiku-20240307") }
      ])
      const router = yield* makeRouter(twoProviders(), layer)
      const e = yield* Effect.flip(router.generate({ prompt: "hi", model: "auto", taskType: "analysis" }))
      // the 429 is the most telling: its status and retry-after stand
      expect(e._tag === "RateLimitExceeded" && e.retryAfter).toBe(20_000)
      expect("model" in e && e.model).toBe("auto")
      expect(describeError(e)).toBe(
        "auto: no candidate answered for task analysis: openai/gpt-4o-mini: unreachable (ECONNREFUSED); " +
          "anthropic/claude-3-haiku-20240307: rate limited (retry after 20 s)"
      )
    }).pipe(Effect.scoped))
})

describe("ModelRouter rate limits refuse at once, per provider", () => {
  it.effect("over the limit, the last candidate gets the 429 at once with the real wait as retry-after", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a" }])
      // rpm 6: a request frees up every 10 s, far beyond the default 1 s queue of the last candidate
      const router = yield* makeRouter(gatewayConfig([provider("a", "openai", ["m"], { rpm: 6 })]), layer)
      for (let i = 0; i < 6; i++) yield* router.generate({ prompt: "hi" })
      const fiber = yield* Effect.forkChild(Effect.flip(router.generate({ prompt: "hi" })))
      // no clock movement: the refusal does not wait
      yield* TestClock.adjust(0)
      const e = yield* Fiber.join(fiber)
      expect(e._tag === "RateLimitExceeded" && e.retryAfter).toBe(10_000)
      expect(attemptsOf(e)).toEqual([{ model: "a/m", outcome: "skipped:RateLimited", ms: 0 }])
      expect(clients.a.calls).toHaveLength(6)
    }).pipe(Effect.scoped))

  it.effect("a permit due within the queue is waited for", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a" }])
      // rpm 120: one request frees up every 500 ms, inside the last candidate's 1 s queue
      const router = yield* makeRouter(gatewayConfig([provider("a", "openai", ["m"], { rpm: 120 })]), layer)
      for (let i = 0; i < 120; i++) yield* router.generate({ prompt: "hi" })
      const fiber = yield* Effect.forkChild(router.generate({ prompt: "hi" }))
      yield* TestClock.adjust(499)
      expect(clients.a.calls).toHaveLength(120)
      yield* TestClock.adjust(1)
      expect((yield* Fiber.join(fiber)).ref).toBe("a/m")
    }).pipe(Effect.scoped))

  it.effect("routing.queueMs: 0 refuses even a permit due in 500 ms", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{ provider: "a" }])
      const router = yield* makeRouter(gatewayConfig([provider("a", "openai", ["m"], { rpm: 120 })], { queueMs: 0 }), layer)
      for (let i = 0; i < 120; i++) yield* router.generate({ prompt: "hi" })
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag === "RateLimitExceeded" && e.retryAfter).toBe(500)
    }).pipe(Effect.scoped))

  it.effect("a provider's rpm is one budget for all its models; status shows the provider at 0 too", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a" }])
      const config = gatewayConfig([provider("a", "openai", ["m1", "m2"], { rpm: 2 })], { strategy: "performance" })
      const router = yield* makeRouter(config, layer)
      yield* router.generate({ prompt: "hi", model: "a/m1" })
      yield* router.generate({ prompt: "hi", model: "a/m1" })
      // m2 has never been called, but the provider's budget is spent
      const e = yield* Effect.flip(router.generate({ prompt: "hi", model: "a/m2" }))
      expect(e._tag).toBe("RateLimitExceeded")
      expect(clients.a.calls).toHaveLength(2)
      const stats = yield* router.stats
      expect(stats.deployments.map((d) => d.rateLimit?.availableRequests)).toEqual([0, 0])
      expect(stats.providers[0]).toMatchObject({ name: "a", availableRequests: 0 })
    }).pipe(Effect.scoped))
})

describe("ModelRouter refuses a model asked for the wrong kind of work", () => {
  it.effect("chat on an embedding model, embeddings on a chat model: InvalidRequest naming the model", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "openai" }, { provider: "anthropic" }])
      const router = yield* makeRouter(twoProviders(), layer)
      const chat = yield* Effect.flip(router.generate({ prompt: "hi", model: "openai/text-embedding-3-small" }))
      expect(chat._tag).toBe("InvalidRequest")
      expect(describeError(chat)).toContain("openai/text-embedding-3-small")
      expect(describeError(chat)).toContain("embedding model")
      const embed = yield* Effect.flip(router.embed({ model: "openai/gpt-4o-mini", input: ["hi"] }))
      expect(embed._tag).toBe("InvalidRequest")
      expect(describeError(embed)).toContain("openai/gpt-4o-mini")
      expect(clients.openai.calls).toHaveLength(0)
    }).pipe(Effect.scoped))
})
