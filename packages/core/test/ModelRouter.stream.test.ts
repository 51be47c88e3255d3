/**
 * Streaming through the router: transparent fallback before the first chunk, a typed error
 * after it, usage and cost on the last chunk.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { StreamChunk } from "../src/domain/Domain.ts"
import { attemptsOf, NetworkError } from "../src/domain/LLMError.ts"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

const ab = (routing: Parameters<typeof gatewayConfig>[1] = {}) =>
  gatewayConfig([
    provider("a", "openai", [{ id: "m", inputCostPer1M: 1, outputCostPer1M: 2 }]),
    provider("b", "anthropic", [{ id: "m", inputCostPer1M: 3, outputCostPer1M: 15 }])
  ], { strategy: "performance", tasks: { general: ["a/m", "b/m"] }, maxRetries: 1, ...routing })

const collect = <E>(s: Stream.Stream<StreamChunk, E>, ms = 60_000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Stream.runCollect(s))
    yield* TestClock.adjust(ms)
    return yield* Fiber.join(fiber)
  })

const net = new NetworkError({ model: "a/m", message: "connection refused" })
const usage = { promptTokens: 100, completionTokens: 20, totalTokens: 120 }

describe("ModelRouter.stream", () => {
  it.effect("chunks carry provider/model; the first carries attempts; the last usage, finishReason, costUsd", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{ provider: "a", script: [Scripted.chunks(["Hel", "lo"], { usage })] }])
      const router = yield* makeRouter(ab(), layer)
      const chunks = yield* collect(router.stream({ prompt: "hi" }))
      expect(chunks.map((c) => c.delta).join("")).toBe("Hello")
      expect(chunks.every((c) => c.provider === "a" && c.model === "m")).toBe(true)
      expect(chunks[0].attempts).toEqual([{ model: "a/m", outcome: "ok", ms: 0 }])
      const last = chunks[chunks.length - 1]
      expect(last).toMatchObject({ usage, finishReason: "stop" })
      expect(last.costUsd).toBeCloseTo((100 * 1 + 20 * 2) / 1e6, 12)
    }).pipe(Effect.scoped))

  it.effect("a stream failing before its first chunk falls back transparently", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.fail(net)] },
        { provider: "b", script: [Scripted.chunks(["from ", "b"], { usage })] }
      ])
      const router = yield* makeRouter(ab(), layer)
      const chunks = yield* collect(router.stream({ prompt: "hi" }))
      expect(chunks.map((c) => c.delta).join("")).toBe("from b")
      expect(chunks[0].provider).toBe("b")
      expect(chunks[0].attempts?.map((a) => [a.model, a.outcome])).toEqual([
        ["a/m", "NetworkError"],
        ["a/m", "NetworkError"],
        ["b/m", "ok"]
      ])
      expect(clients.a.calls.map((c) => c.method)).toEqual(["stream", "stream"])
      expect(chunks.at(-1)?.costUsd).toBeCloseTo((100 * 3 + 20 * 15) / 1e6, 12)
    }).pipe(Effect.scoped))

  it.effect("a failure after the first chunk ends the stream with the typed error, never a truncated success", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([
        { provider: "a", script: [Scripted.chunks(["partial ", "answer"], { failWith: net })] },
        { provider: "b" }
      ])
      const router = yield* makeRouter(ab(), layer)
      const seen: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Effect.flip(Stream.runForEach(router.stream({ prompt: "hi" }), (c) => Effect.sync(() => seen.push(c.delta))))
      )
      yield* TestClock.adjust(1_000)
      const e = yield* Fiber.join(fiber)
      expect(seen).toEqual(["partial ", "answer"])
      expect(e._tag).toBe("NetworkError")
      expect(attemptsOf(e)?.map((a) => a.outcome)).toEqual(["ok", "NetworkError:mid-stream"])
      expect(clients.b.calls).toHaveLength(0)
      const a = (yield* router.stats).deployments.find((d) => d.ref === "a/m")
      expect([a?.requests, a?.errors]).toEqual([1, 1])
    }).pipe(Effect.scoped))

  it.effect("a stream that stalls between chunks fails with TimeoutError after attemptTimeoutMs", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{ provider: "a", script: [Scripted.chunks(["a", "b"], { chunkDelayMs: 60_000 })] }])
      const router = yield* makeRouter(ab({ attemptTimeoutMs: 5_000 }), layer)
      const fiber = yield* Effect.forkChild(Effect.flip(Stream.runCollect(router.stream({ prompt: "hi" }))))
      yield* TestClock.adjust(5_000)
      const e = yield* Fiber.join(fiber)
      expect(e._tag === "TimeoutError" && e.timeoutMs).toBe(5_000)
    }).pipe(Effect.scoped))

  it.effect("a hung stream before its first chunk is abandoned for the next candidate", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "a", script: [Scripted.hang] }, { provider: "b" }])
      const router = yield* makeRouter(ab({ attemptTimeoutMs: 3_000, maxRetries: 0 }), layer)
      const chunks = yield* collect(router.stream({ prompt: "hi" }), 3_000)
      expect(chunks[0].provider).toBe("b")
      expect(chunks[0].attempts?.[0]).toEqual({ model: "a/m", outcome: "TimeoutError", ms: 3_000 })
      expect(clients.a.interrupted()).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("an upstream that sends no usage gets an estimated last chunk", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{ provider: "a", script: [Scripted.chunks(["abcd", "efgh"], { noUsage: true })] }])
      const router = yield* makeRouter(ab(), layer)
      const chunks = yield* collect(router.stream({ prompt: "hi" }))
      const last = chunks.at(-1)!
      // prompt ~5 tokens (1 + 4 framing), completion 8 chars ~2 tokens
      expect(last).toMatchObject({ delta: "", provider: "a", usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 }, finishReason: "unknown" })
      expect(last.costUsd).toBeCloseTo((5 * 1 + 2 * 2) / 1e6, 12)
    }).pipe(Effect.scoped))

  it.effect("a consumer that stops early gets what it took", () =>
    Effect.gen(function*() {
      const { layer } = scripted([{ provider: "a", script: [Scripted.chunks(["1", "2", "3"])] }])
      const router = yield* makeRouter(ab(), layer)
      const first = yield* collect(Stream.take(router.stream({ prompt: "hi" }), 2))
      expect(first.map((c) => c.delta)).toEqual(["1", "2"])
    }).pipe(Effect.scoped))
})
