import { describe, expect, it } from "@effect/vitest"
import { fakeOllamaEmbedding } from "@llm-gateway/testing/FakeOllama"
import { ModelClient } from "@llm-gateway/core/providers/ModelClient"
import { Effect, Exit, Fiber, Redacted, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { layer, makeOllamaClient, ollamaHost } from "../src/OllamaClient.ts"
import type { OllamaConfig } from "../src/OllamaProvider.ts"
import { closedPort, MODEL, providerConfig, request, setup, waitUntil } from "./helpers.ts"

describe("OllamaClient", () => {
  it.live("generates a non-streamed answer with exact usage", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "Hello there, world!", promptTokens: 11, completionTokens: 7 })
      const res = yield* client.generate(request({ temperature: 0.2, topP: 0.9, stop: ["###"], maxTokens: 50 }))
      expect(res).toEqual({
        content: "Hello there, world!",
        model: MODEL,
        usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 },
        finishReason: "stop"
      })
      const sent = fake.chatRequests()[0]
      expect(sent.stream).toBe(false)
      expect(sent.messages).toEqual([{ role: "user", content: "say hello to the world" }])
      expect(sent.options).toEqual({ num_predict: 50, temperature: 0.2, top_p: 0.9, stop: ["###"] })
      expect(client.provider).toBe("local")
      expect(client.type).toBe("ollama")
    }))

  it.live("reports finishReason length when num_predict cuts the answer", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ reply: "one two three four five" })
      const res = yield* client.generate(request({ maxTokens: 2 }))
      expect(res.content).toBe("one two ")
      expect(res.finishReason).toBe("length")
      expect(res.usage.completionTokens).toBe(2)
      expect(res.usage.promptTokens).toBe(5) // the fake counts the words of the prompt
    }))

  it.live("sends JSON mode and JSON schemas as Ollama's format", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "{}" })
      yield* client.generate(request({ responseFormat: { type: "json_object" } }))
      const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] }
      yield* client.generate(request({ responseFormat: { type: "json_schema", name: "r", schema } }))
      expect(fake.chatRequests().map((r) => r.format)).toEqual(["json", schema])
    }))

  it.live("streams deltas and ends with one chunk carrying usage and finishReason", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "The quick brown fox jumps", promptTokens: 9, completionTokens: 5 })
      const chunks = yield* Stream.runCollect(client.stream(request()))
      expect(chunks.map((c) => c.delta)).toEqual(["The ", "quick ", "brown ", "fox ", "jumps", ""])
      expect(chunks.slice(0, -1).every((c) => c.usage === undefined && c.finishReason === undefined)).toBe(true)
      expect(chunks[chunks.length - 1]).toEqual({
        delta: "",
        usage: { promptTokens: 9, completionTokens: 5, totalTokens: 14 },
        finishReason: "stop"
      })
      expect(fake.chatRequests()[0].stream).toBe(true)
    }))

  it.live("streams in the fake's chunking and reports length on a cut answer", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ reply: "a b c d e f", chunks: 2 })
      const chunks = yield* Stream.runCollect(client.stream(request({ maxTokens: 4 })))
      expect(chunks.map((c) => c.delta)).toEqual(["a b ", "c d ", ""])
      expect(chunks[chunks.length - 1].finishReason).toBe("length")
      expect(chunks[chunks.length - 1].usage?.completionTokens).toBe(4)
    }))

  it.live("embeds through /api/embed", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ embeddingDimensions: 4 })
      const res = yield* client.embed({ model: "nomic-embed-text:latest", input: ["alpha beta", "gamma"] })
      expect(res.model).toBe("nomic-embed-text:latest")
      expect(res.embeddings).toEqual([fakeOllamaEmbedding("alpha beta", 4), fakeOllamaEmbedding("gamma", 4)])
      expect(res.usage).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 })
      expect(fake.server.requests[0].path).toBe("/api/embed")
    }))

  it.live("health lists the pulled models", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ models: ["llama3.2:latest", "qwen2.5:7b"] })
      const health = yield* client.health
      expect(health.healthy).toBe(true)
      expect(health.models).toEqual(["llama3.2:latest", "qwen2.5:7b"])
      expect(health.latencyMs).toBeGreaterThanOrEqual(0)
      expect(fake.server.requests.map((r) => r.path)).toEqual(["/api/tags"])
    }))

  it.live("health reports an unreachable upstream without failing", () =>
    Effect.gen(function*() {
      const port = yield* closedPort()
      const client = yield* makeOllamaClient(providerConfig(`http://127.0.0.1:${port}`))
      const health = yield* client.health
      expect(health.healthy).toBe(false)
      expect(health.error).toMatch(/ECONNREFUSED/)
    }))

  it.live("sends the api key and configured headers, and accepts a /v1 base URL", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({}, undefined, {
        apiKey: Redacted.make("sk-secret"),
        headers: { "x-tenant": Redacted.make("acme") }
      })
      yield* client.generate(request())
      expect(fake.server.requests[0].headers["authorization"]).toBe("Bearer sk-secret")
      expect(fake.server.requests[0].headers["x-tenant"]).toBe("acme")
      expect(ollamaHost("http://localhost:11434/v1/")).toBe("http://localhost:11434")
      expect(ollamaHost("http://localhost:11434/api")).toBe("http://localhost:11434")
      expect(ollamaHost(undefined)).toBe("http://127.0.0.1:11434")
      const viaV1 = yield* makeOllamaClient(providerConfig(`${fake.url}/v1`))
      expect((yield* viaV1.generate(request())).content).toBe("Hello from fake Ollama")
    }))

  it.live("provides ModelClient as a layer", () =>
    Effect.gen(function*() {
      const { fake } = yield* setup()
      const res = yield* Effect.gen(function*() {
        const client = yield* ModelClient
        return yield* client.generate(request())
      }).pipe(Effect.provide(layer(providerConfig(fake.url))))
      expect(res.content).toBe("Hello from fake Ollama")
    }))

  it.effect("refuses a provider of another type or a base URL that is not http", () =>
    Effect.gen(function*() {
      // the client's type forbids another type; an untyped caller (plain JS) is still refused
      const otherType = { ...providerConfig("http://x"), type: "openai" } as unknown as OllamaConfig
      const wrongType = yield* Effect.flip(makeOllamaClient(otherType))
      expect(wrongType._tag).toBe("ConfigurationError")
      const badUrl = yield* Effect.flip(makeOllamaClient(providerConfig("ftp://example.com")))
      expect([badUrl._tag, badUrl.path]).toEqual(["ConfigurationError", "baseUrl"])
    }))
})

describe("OllamaClient cancellation", () => {
  it.live("interrupting generate closes the upstream connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.fail({ kind: "hang" })
      const fiber = yield* Effect.forkChild(client.generate(request()))
      yield* waitUntil(() => fake.server.requests.length === 1)
      expect(fake.server.openConnections()).toBe(1)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      expect(fake.server.openConnections()).toBe(0)
    }))

  it.live("interrupting a stream mid-answer closes the upstream connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "a b c d e f g h i j", chunkIntervalMs: 60_000 })
      const seen: Array<string> = []
      const fiber = yield* Effect.forkChild(Stream.runForEach(client.stream(request()), (c) => Effect.sync(() => seen.push(c.delta))))
      yield* waitUntil(() => seen.length === 1)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      expect(seen).toEqual(["a "])
    }))

  it.live("a consumer that stops early closes the upstream connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "a b c d e f g h i j", chunkIntervalMs: 20 })
      const first = yield* Stream.runCollect(Stream.take(client.stream(request()), 2))
      expect(first.map((c) => c.delta)).toEqual(["a ", "b "])
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("closing the client's scope aborts the requests still running", () =>
    Effect.gen(function*() {
      const { fake } = yield* setup()
      fake.fail({ kind: "hang" })
      const scope = yield* Scope.make()
      const client = yield* makeOllamaClient(providerConfig(fake.url)).pipe(Scope.provide(scope))
      const fiber = yield* Effect.forkChild(Effect.flip(client.generate(request())))
      yield* waitUntil(() => fake.server.requests.length === 1)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "NetworkError", message: "request aborted" })
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("a finished stream leaves the connection open for reuse", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "a b c" })
      yield* Stream.runDrain(client.stream(request()))
      yield* Stream.runDrain(client.stream(request()))
      expect(fake.server.closedConnections()).toBe(0)
    }))

  it.effect("a hanging upstream times out on the client's timeout and is disconnected", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({}, { timeoutMs: 5_000 })
      fake.fail({ kind: "hang" })
      const fiber = yield* Effect.forkChild(Effect.flip(client.generate(request())))
      yield* waitUntil(() => fake.server.requests.length === 1)
      yield* TestClock.adjust(5_000)
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("TimeoutError")
      expect(error).toMatchObject({ model: `local/${MODEL}`, timeoutMs: 5_000 })
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.effect("a stream that stalls between chunks times out and is disconnected", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "a b c", chunkIntervalMs: 60_000 }, { timeoutMs: 1_000 })
      const seen: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Effect.flip(Stream.runForEach(client.stream(request()), (c) => Effect.sync(() => seen.push(c.delta))))
      )
      yield* waitUntil(() => seen.length === 1)
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 20))) // let the next pull start its timer
      yield* TestClock.adjust(1_000)
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("TimeoutError")
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))
})
