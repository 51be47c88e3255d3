/**
 * The router's rules end to end through the real `openai` SDK against loopback fakes speaking
 * OpenAI's wire format (fault injection in `FakeOpenAI`). Real sockets and timers, so `it.live`
 * with short delays; the full rule set runs on TestClock in the other ModelRouter tests.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Stream } from "effect"
import { fakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import type { ProviderEntry } from "../src/config/ConfigSchema.ts"
import { attemptsOf } from "../src/domain/LLMError.ts"
import { ModelClients } from "../src/providers/ModelClients.ts"
// core does not depend on the provider packages; the test reaches the sibling's source directly
import { makeOpenAIClient } from "../../openai/src/OpenAIClient.ts"
import { gatewayConfig, makeRouter } from "./router/fixtures.ts"

const providerFor = (name: string, baseUrl: string, key = "sk-test", contextWindow?: number): ProviderEntry<"openai"> => ({
  name,
  type: "openai",
  baseUrl,
  apiKey: Redacted.make(key),
  models: [{ id: "gpt-4o-mini", inputCostPer1M: 0.15, outputCostPer1M: 0.6, contextWindow }]
})

/** Two fake upstreams "one" and "two", tried in that order. */
const setup = (
  routing: Parameters<typeof gatewayConfig>[1] = {},
  keyForOne = "sk-test",
  windows: [number?, number?] = []
) =>
  Effect.gen(function*() {
    const one = yield* fakeOpenAI({ apiKey: "sk-test", reply: "answer from one", chunks: 4 })
    const two = yield* fakeOpenAI({ apiKey: "sk-test", reply: "answer from two", chunks: 4 })
    const providers = [
      providerFor("one", one.baseUrl, keyForOne, windows[0]),
      providerFor("two", two.baseUrl, "sk-test", windows[1])
    ]
    const clients = yield* Effect.forEach(providers, (p) => makeOpenAIClient(p))
    const config = gatewayConfig(providers, {
      strategy: "performance",
      tasks: { general: ["one/gpt-4o-mini", "two/gpt-4o-mini"] },
      maxRetries: 2,
      attemptTimeoutMs: 2_000,
      timeoutMs: 8_000,
      ...routing
    })
    const router = yield* makeRouter(config, ModelClients.layerFrom(clients), { backoff: { baseMs: 20, maxMs: 100 } })
    return { one, two, router }
  })

const chatRequests = (fake: { server: { requests: ReadonlyArray<{ path: string; at: number }> } }) =>
  fake.server.requests.filter((r) => r.path === "/v1/chat/completions")

describe("ModelRouter through the openai SDK", () => {
  it.live("a 429's retry-after is honoured: the retry is not sent before it", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup()
      one.enqueueFault({ kind: "status", status: 429, headers: { "retry-after-ms": "400" } })
      const res = yield* router.generate({ prompt: "hi" })
      expect([res.ref, res.content]).toEqual(["one/gpt-4o-mini", "answer from one"])
      expect(res.attempts.map((a) => a.outcome)).toEqual(["RateLimitExceeded", "ok"])
      const [first, second] = chatRequests(one)
      expect(second.at - first.at).toBeGreaterThanOrEqual(400)
      expect(chatRequests(two)).toHaveLength(0)
    }).pipe(Effect.scoped))

  it.live("a 401 is never retried: one request, then the next candidate", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup({}, "sk-wrong")
      const res = yield* router.generate({ prompt: "hi" })
      expect(res.ref).toBe("two/gpt-4o-mini")
      expect(res.attempts.map((a) => a.outcome)).toEqual(["AuthenticationFailed", "ok"])
      expect(chatRequests(one)).toHaveLength(1)
      expect(chatRequests(two)).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.live("a 400 (InvalidRequest) fails at once, without fallback", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup()
      one.enqueueFault({ kind: "status", status: 400 })
      const e = yield* Effect.flip(router.generate({ prompt: "hi" }))
      expect(e._tag).toBe("InvalidRequest")
      expect([chatRequests(one).length, chatRequests(two).length]).toEqual([1, 0])
    }).pipe(Effect.scoped))

  it.live("a context-length 400 falls back only to a larger context window", () =>
    Effect.gen(function*() {
      const contextError = {
        kind: "status" as const,
        status: 400,
        body: {
          error: {
            message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
            type: "invalid_request_error",
            param: "messages",
            code: "context_length_exceeded"
          }
        }
      }
      const larger = yield* setup({}, "sk-test", [8_192, 128_000])
      larger.one.enqueueFault(contextError)
      const res = yield* larger.router.generate({ prompt: "hi" })
      expect(res.ref).toBe("two/gpt-4o-mini")
      expect(res.attempts.map((a) => a.outcome)).toEqual(["ContextTooLarge", "ok"])

      const smaller = yield* setup({}, "sk-test", [8_192, 4_096])
      smaller.one.enqueueFault(contextError)
      const e = yield* Effect.flip(smaller.router.generate({ prompt: "hi" }))
      expect(e._tag).toBe("ContextTooLarge")
      expect(attemptsOf(e)?.map((a) => a.outcome)).toEqual(["ContextTooLarge", "skipped:ContextTooLarge"])
      expect(chatRequests(smaller.two)).toHaveLength(0)
    }).pipe(Effect.scoped))

  it.live("a hung upstream is abandoned after attemptTimeoutMs (its request aborted) for the next", () =>
    Effect.gen(function*() {
      const { one, router } = yield* setup({ attemptTimeoutMs: 300, maxRetries: 0 })
      one.enqueueFault({ kind: "hang" })
      const res = yield* router.generate({ prompt: "hi" })
      expect(res.ref).toBe("two/gpt-4o-mini")
      expect(res.attempts[0].outcome).toBe("TimeoutError")
      expect(res.attempts[0].ms).toBeGreaterThanOrEqual(290)
      yield* Effect.promise(() => one.server.waitForClosedConnections(1, 2_000))
    }).pipe(Effect.scoped))

  it.live("a stream failing before its first chunk falls back transparently", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup({ maxRetries: 0 })
      one.enqueueFault({ kind: "status", status: 503 })
      const chunks = yield* Stream.runCollect(router.stream({ prompt: "hi" }))
      expect(chunks.map((c) => c.delta).join("")).toBe("answer from two")
      expect(chunks[0].attempts?.map((a) => a.outcome)).toEqual(["ModelUnavailable", "ok"])
      const last = chunks.at(-1)!
      expect(last.usage?.totalTokens).toBeGreaterThan(0)
      expect(last.finishReason).toBe("stop")
      expect(last.costUsd).toBeGreaterThan(0)
      expect(chatRequests(two)).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.live("a stream cut mid-answer ends with a typed error, never a truncated success", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup()
      one.enqueueFault({ kind: "cutAfter", chunks: 2 })
      const seen: Array<string> = []
      const e = yield* Effect.flip(
        Stream.runForEach(router.stream({ prompt: "hi" }), (c) => Effect.sync(() => seen.push(c.delta)))
      )
      expect(seen.join("").length).toBeGreaterThan(0)
      expect("answer from one".startsWith(seen.join(""))).toBe(true)
      expect(seen.join("")).not.toBe("answer from one")
      expect(e._tag).toBe("NetworkError")
      expect(attemptsOf(e)?.at(-1)?.outcome).toBe("NetworkError:mid-stream")
      expect(chatRequests(two)).toHaveLength(0)
    }).pipe(Effect.scoped))
})
