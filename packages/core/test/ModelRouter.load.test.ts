/**
 * The router under sustained injected failure, plus stats, embeddings and metric names.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import { ModelUnavailable, NetworkError, RateLimitExceeded, TimeoutError } from "../src/domain/LLMError.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted, seedProviders } from "./router/fixtures.ts"

describe("ModelRouter under failure", () => {
  it.effect.each([0, 2])("a 30 percent failure rate on the first candidate, healthy second, maxRetries %s: 1,000 of 1,000 succeed", (maxRetries) =>
    Effect.gen(function*() {
      // a deterministic 30%: three of every ten calls fail, with the four kinds of retryable error
      const failures = [
        new NetworkError({ model: "a/m", message: "ECONNRESET" }),
        new ModelUnavailable({ model: "a/m", message: "overloaded", status: 503 }),
        // a 429 with a retry-after would (rightly) send the next requests to b first; this test
        // is about retries and failover, so its 429 names no time
        new RateLimitExceeded({ model: "a/m", retryAfter: 0 }),
        new TimeoutError({ model: "a/m", timeoutMs: 100 })
      ]
      const { layer, clients } = scripted([
        {
          provider: "a",
          script: (call) => ((call.index * 7) % 10 < 3 ? Scripted.fail(failures[call.index % 4]) : Scripted.ok())
        },
        { provider: "b" }
      ])
      const config = gatewayConfig([provider("a", "openai", ["m"]), provider("b", "openai", ["m"])], {
        tasks: { general: ["a/m", "b/m"] },
        maxRetries
      })
      const router = yield* makeRouter(config, layer)
      const fiber = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 1_000 }), () => router.generate({ prompt: "hi" }), { concurrency: 50 })
      )
      // enough virtual time for every backoff (each request waits at most a few seconds)
      for (let i = 0; i < 200; i++) yield* TestClock.adjust(5_000)
      const results = yield* Fiber.join(fiber)
      expect(results).toHaveLength(1_000)
      expect(results.every((r) => r.content.length > 0)).toBe(true)
      const byA = results.filter((r) => r.ref === "a/m").length
      expect(byA + clients.b.calls.length).toBe(1_000)
      // without retries every failure fails over; with two, a request rarely exhausts them
      if (maxRetries === 0) expect([byA, clients.a.calls.length]).toEqual([700, 1_000])
      else expect(byA).toBeGreaterThan(950)
      expect(clients.a.calls.length + clients.b.calls.length).toBeGreaterThanOrEqual(1_000)
      const stats = yield* router.stats
      const a = stats.deployments.find((d) => d.ref === "a/m")!
      expect(a.requests).toBe(clients.a.calls.length)
      expect(a.successRate).toBeGreaterThan(0.6)
      expect(a.successRate).toBeLessThan(0.8)
    }).pipe(Effect.scoped))
})

describe("ModelRouter.stats", () => {
  it.effect("per deployment and per provider: requests, errors, success rate, latency, circuit, status", () =>
    Effect.gen(function*() {
      const { layer } = scripted([
        {
          provider: "openai",
          script: [
            Scripted.ok("1", { delayMs: 100 }),
            Scripted.fail(new NetworkError({ model: "x", message: "x" })),
            Scripted.ok("3", { delayMs: 300 })
          ]
        }
      ])
      const config = gatewayConfig(seedProviders, { maxRetries: 1 })
      const router = yield* makeRouter(config, layer)
      for (let i = 0; i < 2; i++) {
        const f = yield* Effect.forkChild(router.generate({ prompt: "x", model: "openai/gpt-4o-mini" }))
        yield* TestClock.adjust(10_000)
        yield* Fiber.join(f)
      }
      const stats = yield* router.stats
      const gpt = stats.deployments.find((d) => d.ref === "openai/gpt-4o-mini")!
      expect(gpt).toMatchObject({ requests: 3, errors: 1, avgLatencyMs: 200, circuit: "closed", rateLimit: undefined })
      expect(gpt.successRate).toBeCloseTo(2 / 3)
      const openai = stats.providers.find((p) => p.name === "openai")!
      expect(openai).toMatchObject({ type: "openai", status: "available", requests: 3, errors: 1, avgLatencyMs: 200 })
      expect(stats.providers.find((p) => p.name === "claude")).toMatchObject({ requests: 0, successRate: 1 })
    }).pipe(Effect.scoped))
})

describe("ModelRouter.embed", () => {
  it.effect("routes to the embedding models, explicit or configured", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "openai" }])
      const router = yield* makeRouter(gatewayConfig(seedProviders), layer)
      const res = yield* router.embed({ input: ["a", "bb"] })
      expect(res).toMatchObject({ provider: "openai", model: "text-embedding-3-small" })
      expect(res.embeddings).toHaveLength(2)
      expect(clients.openai.calls.map((c) => [c.method, c.model])).toEqual([["embed", "text-embedding-3-small"]])
      const pinned = yield* router.embed({ model: "openai/text-embedding-3-small", input: ["a"] })
      expect(pinned.model).toBe("text-embedding-3-small")
      expect((yield* Effect.flip(router.embed({ model: "nope/x", input: ["a"] })))._tag).toBe("ModelUnavailable")
    }).pipe(Effect.scoped))

  it.effect("without an embedding model it is a ConfigurationError", () =>
    Effect.gen(function*() {
      const { layer } = scripted([])
      const router = yield* makeRouter(gatewayConfig([provider("ol", "ollama", ["llama3.2"])]), layer)
      const e = yield* Effect.flip(router.embed({ input: ["a"] }))
      expect(e._tag).toBe("ConfigurationError")
    }).pipe(Effect.scoped))
})

describe("ModelRouter metrics", () => {
  it.effect("updates the seed metrics with provider/model labels", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{
        provider: "openai",
        script: [
          Scripted.fail(new NetworkError({ model: "x", message: "x" })),
          Scripted.ok("ok", { usage: { promptTokens: 1_000_000, completionTokens: 0, totalTokens: 1_000_000 } })
        ]
      }, { provider: "lmstudio" }, { provider: "claude" }])
      const router = yield* makeRouter(gatewayConfig(seedProviders, { maxRetries: 0 }), layer)
      yield* router.generate({ prompt: "x", model: "openai/gpt-4o-mini" })
      yield* router.generate({ prompt: "x", model: "openai/gpt-4o-mini" })
      const snap = yield* Metric.snapshot
      const find = (id: string, attrs: Record<string, string> = {}) =>
        snap.find((m) => m.id === id && Object.entries(attrs).every(([k, v]) => m.attributes?.[k] === v))?.state
      const gpt = { provider: "openai", model: "gpt-4o-mini" }
      expect(find("llm_provider_requests_total", gpt)).toMatchObject({ count: 2 })
      expect(find("llm_provider_errors_total", { ...gpt, error_type: "NetworkError" })).toMatchObject({ count: 1 })
      expect(find("llm_provider_latency_ms", gpt)).toMatchObject({ count: 1 })
      expect(find("llm_provider_tokens_total", { ...gpt, kind: "prompt" })).toMatchObject({ count: 1_000_000 })
      expect(find("llm_cost_usd_total", gpt)).toMatchObject({ count: 0.15 })
      expect(find("llm_gateway_failovers_total", gpt)).toMatchObject({ count: 1 })
      expect(find("llm_client_requests_total", { status: "success" })).toMatchObject({ count: 2 })
      expect(find("llm_client_request_duration_seconds")).toMatchObject({ count: 2 })
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))
})
