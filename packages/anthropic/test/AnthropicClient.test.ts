/**
 * The Anthropic provider through the real `@anthropic-ai/sdk` against the loopback fake:
 * what is sent (asserted on the recorded request), what comes back, streaming, health,
 * configuration, and cancellation (asserted on the fake's connection counters).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, Stream } from "effect"
import { ModelClient } from "@llm-gateway/core/providers/ModelClient"
import { layer, makeAnthropicClient } from "../src/AnthropicClient.ts"
import { fakeInputTokens, fakeTokenCount, startFakeAnthropic } from "@llm-gateway/testing/FakeAnthropic"
import { CANARY, eventually, expectNoSecret, MODEL, providerConfig, request, setup } from "./fixtures.ts"

describe("AnthropicClient.generate", () => {
  it.live("returns the content with exact usage and sends system turns as `system`", () =>
    Effect.gen(function*() {
      const reply = "The answer is 42."
      const { fake, client } = yield* setup({ reply })
      const res = yield* client.generate(request({
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "First question." },
          { role: "system", content: "Answer in English." },
          { role: "user", content: "Second question." },
          { role: "assistant", content: "Go on." },
          { role: "user", content: "What is the answer?" }
        ]
      }))
      const [body] = fake.messageBodies()
      expect(body.system).toBe("You are terse.\n\nAnswer in English.")
      // Consecutive user turns are merged: the API wants alternating roles.
      expect(body.messages).toEqual([
        { role: "user", content: "First question.\n\nSecond question." },
        { role: "assistant", content: "Go on." },
        { role: "user", content: "What is the answer?" }
      ])
      expect(body.max_tokens).toBe(1024) // the model entry's maxOutputTokens
      expect(body.stream).toBeUndefined()
      expect(res).toEqual({
        content: reply,
        model: MODEL,
        usage: {
          promptTokens: fakeInputTokens(body),
          completionTokens: fakeTokenCount(reply),
          totalTokens: fakeInputTokens(body) + fakeTokenCount(reply)
        },
        finishReason: "stop"
      })
      // The key reaches the upstream (and only there).
      expect(fake.requests[0].headers.authorization).toBe(`Bearer ${CANARY}`)
    }))

  it.live("reports the upstream's usage numbers as they are", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ inputTokens: 1234, outputTokens: 56 })
      const res = yield* client.generate(request())
      expect(res.usage).toEqual({ promptTokens: 1234, completionTokens: 56, totalTokens: 1290 })
    }))

  it.live("maps preferences: max_tokens, temperature (clamped to 0..1), top_p, stop sequences", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ reply: "one two STOP three" })
      const res = yield* client.generate(request({ maxTokens: 50, temperature: 1.6, stop: ["STOP"] }))
      yield* client.generate(request({ model: "claude-unlisted", topP: 0.3 }))
      const [first, second] = fake.messageBodies()
      expect(first).toMatchObject({ max_tokens: 50, temperature: 1, stop_sequences: ["STOP"] })
      expect(first.top_p).toBeUndefined()
      expect(res.content).toBe("one two ")
      expect(res.finishReason).toBe("stop") // stop_sequence
      expect(second).toMatchObject({ model: "claude-unlisted", max_tokens: 4096, top_p: 0.3 })
      expect(second.temperature).toBeUndefined()
    }))

  it.live("maps stop_reason max_tokens to finishReason length", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ reply: "x".repeat(100) })
      const res = yield* client.generate(request({ maxTokens: 5 }))
      expect(res.finishReason).toBe("length")
      expect(res.usage.completionTokens).toBe(5)
    }))

  it.live("asks for JSON in the system prompt (Anthropic has no JSON mode)", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ reply: "{\"ok\":true}" })
      yield* client.generate(request({
        messages: [{ role: "system", content: "Be exact." }, { role: "user", content: "Status?" }],
        responseFormat: { type: "json_object" }
      }))
      yield* client.generate(request({
        responseFormat: { type: "json_schema", name: "Status", schema: { type: "object", required: ["ok"] } }
      }))
      const [plain, schema] = fake.messageBodies()
      expect(plain.system).toMatch(/^Be exact\.\n\n.*valid JSON object/s)
      expect(schema.system).toContain("\"Status\"")
      expect(schema.system).toContain("{\"type\":\"object\",\"required\":[\"ok\"]}")
    }))

  it.live("fails with InvalidRequest, without calling upstream, when only system turns are given", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      const error = yield* Effect.flip(client.generate(request({ messages: [{ role: "system", content: "x" }] })))
      expect(error._tag).toBe("InvalidRequest")
      expect(fake.requests).toHaveLength(0)
    }))

  it.live("reuses keep-alive connections instead of opening one per request", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      for (let i = 0; i < 6; i++) {
        yield* client.generate(request())
        yield* Stream.runDrain(client.stream(request()))
      }
      expect(fake.requests).toHaveLength(12)
      // undici may open a second socket while the first is being released; never one per request.
      expect(fake.server.openConnections()).toBeLessThanOrEqual(2)
      expect(fake.server.closedConnections()).toBe(0)
    }))
})

describe("AnthropicClient.stream", () => {
  it.live("streams the text and ends with one chunk carrying exact usage and finishReason", () =>
    Effect.gen(function*() {
      const reply = "Streaming answers arrive piece by piece."
      const { fake, client } = yield* setup({ reply, chunks: 5 })
      const chunks = yield* Stream.runCollect(client.stream(request()))
      const [body] = fake.messageBodies()
      expect(body.stream).toBe(true)
      expect(chunks.map((c) => c.delta).join("")).toBe(reply)
      expect(chunks.filter((c) => c.delta.length > 0)).toHaveLength(5)
      expect(chunks.slice(0, -1).every((c) => c.usage === undefined && c.finishReason === undefined)).toBe(true)
      expect(chunks.at(-1)).toEqual({
        delta: "",
        usage: {
          promptTokens: fakeInputTokens(body),
          completionTokens: fakeTokenCount(reply),
          totalTokens: fakeInputTokens(body) + fakeTokenCount(reply)
        },
        finishReason: "stop"
      })
    }))

  it.live("reports finishReason length on a streamed max_tokens stop", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ reply: "y".repeat(80), outputTokens: 7 })
      const chunks = yield* Stream.runCollect(client.stream(request({ maxTokens: 7 })))
      expect(chunks.at(-1)?.finishReason).toBe("length")
      expect(chunks.at(-1)?.usage?.completionTokens).toBe(7)
    }))
})

describe("AnthropicClient cancellation", () => {
  it.live("interrupting a hanging generate closes the upstream connection", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      fake.fail({ kind: "hang" })
      const fiber = yield* Effect.forkChild(client.generate(request()))
      yield* eventually(() => fake.requests.length === 1)
      expect(fake.server.closedConnections()).toBe(0)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      expect(fake.server.openConnections()).toBe(0)
    }))

  it.live("interrupting a stream still waiting for its first byte closes the upstream connection", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      fake.fail({ kind: "hang" })
      const fiber = yield* Effect.forkChild(Stream.runDrain(client.stream(request())))
      yield* eventually(() => fake.requests.length === 1)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("interrupting a running stream closes the upstream connection", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ reply: "z".repeat(400), chunks: 200, chunkIntervalMs: 20 })
      const received: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(client.stream(request()), (c) => Effect.sync(() => received.push(c.delta)))
      )
      yield* eventually(() => received.length >= 1)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      // The upstream stopped well before the 200 chunks (4 s) it would have sent.
      expect(received.length).toBeLessThan(50)
    }))

  it.live("a consumer that stops early (take) closes the upstream connection", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ reply: "w".repeat(400), chunks: 200, chunkIntervalMs: 20 })
      const chunks = yield* Stream.runCollect(client.stream(request()).pipe(Stream.take(2)))
      expect(chunks).toHaveLength(2)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))
})

describe("AnthropicClient.health", () => {
  it.live("is healthy and lists the upstream's models", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ models: ["claude-3-haiku-20240307", "claude-opus-4-1"] })
      const status = yield* client.health
      expect(status).toMatchObject({ healthy: true, models: ["claude-3-haiku-20240307", "claude-opus-4-1"] })
      expect(fake.requests[0]).toMatchObject({ method: "GET", path: "/v1/models" })
    }))

  it.live("is unhealthy (not failed) with a reason on a rejected key, without the key", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeAnthropic({ apiKey: "sk-ant-the-right-one" })),
        (f) => Effect.promise(() => f.close())
      )
      const client = yield* makeAnthropicClient(providerConfig(fake.url))
      const status = yield* client.health
      expect(status.healthy).toBe(false)
      expect(status.error).toMatch(/authentication_error/)
      expectNoSecret(status)
    }))

  it.live("is unhealthy when the upstream is unreachable", () =>
    Effect.gen(function*() {
      const gone = yield* Effect.promise(() => startFakeAnthropic())
      yield* Effect.promise(() => gone.close())
      const client = yield* makeAnthropicClient(providerConfig(gone.url))
      const status = yield* client.health
      expect(status.healthy).toBe(false)
      expect(status.error).toMatch(/connection failed/)
    }))

  it.live("is unhealthy when the upstream does not answer in time", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({}, {}, { healthTimeoutMs: 100 })
      fake.fail({ kind: "hang" })
      const status = yield* client.health
      expect(status).toMatchObject({ healthy: false })
      expect(status.error).toMatch(/timed out after 100 ms/)
    }))
})

describe("makeAnthropicClient configuration", () => {
  const configError = (over: Parameters<typeof providerConfig>[1]) =>
    Effect.flip(makeAnthropicClient(providerConfig("http://127.0.0.1:9", over)))

  it.live("requires an API key", () =>
    Effect.gen(function*() {
      const error = yield* configError({ apiKey: undefined })
      expect(error).toMatchObject({ _tag: "ConfigurationError", path: "providers.anthropic.apiKey" })
    }))

  it.live("rejects a non-anthropic provider type and a non-http base URL", () =>
    Effect.gen(function*() {
      // the client's type forbids another type; an untyped caller (plain JS) is still refused
      const otherType = { type: "openai" } as unknown as Parameters<typeof providerConfig>[1]
      expect(yield* configError(otherType)).toMatchObject({ path: "providers.anthropic.type" })
      expect(yield* configError({ baseUrl: "ftp://example" })).toMatchObject({ path: "providers.anthropic.baseUrl" })
    }))

  it.live("accepts a base URL ending in /v1 and sends custom headers", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeAnthropic()),
        (f) => Effect.promise(() => f.close())
      )
      const client = yield* makeAnthropicClient(
        providerConfig(`${fake.url}/v1/`, { headers: { "x-team": Redacted.make("blue") } })
      )
      const res = yield* client.generate(request())
      expect(res.content.length).toBeGreaterThan(0)
      expect(fake.requests[0]).toMatchObject({ path: "/v1/messages", headers: { "x-team": "blue" } })
    }))

  it.live("layer provides the ModelClient service", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeAnthropic({ reply: "via layer" })),
        (f) => Effect.promise(() => f.close())
      )
      const res = yield* Effect.gen(function*() {
        const client = yield* ModelClient
        expect(client).toMatchObject({ provider: "anthropic", type: "anthropic" })
        return yield* client.generate(request())
      }).pipe(Effect.provide(layer(providerConfig(fake.url))))
      expect(res.content).toBe("via layer")
    }))

  it.live("has no embeddings", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const error = yield* Effect.flip(client.embed({ model: MODEL, input: ["x"] }))
      expect(error._tag).toBe("ConfigurationError")
    }))
})
