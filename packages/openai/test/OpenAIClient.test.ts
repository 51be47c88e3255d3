import { describe, expect, it } from "@effect/vitest"
import { fakeEmbedding, fakeOpenAI, fakePromptTokens, fakeTokenCount } from "@llm-gateway/testing/FakeOpenAI"
import { Effect, Redacted, Stream } from "effect"
import * as OpenAIClient from "../src/OpenAIClient.ts"
import { makeOpenAIClient } from "../src/OpenAIClient.ts"
import { resolveSettings } from "../src/internal/settings.ts"
import { ModelClient } from "@llm-gateway/core/providers/ModelClient"
import { ask, CANARY, eachTransport, providerConfig, setup } from "./fixtures.ts"

const REPLY = "The quick brown fox jumps over the lazy dog."

eachTransport("OpenAIClient generate", (t) => {
  it.live("returns the content and the upstream's exact usage", () =>
    Effect.gen(function*() {
      const { client } = yield* t.setup({ fake: { reply: REPLY } })
      const res = yield* client.generate(ask("how are you today"))
      expect(res.content).toBe(REPLY)
      expect(res.model).toBe("gpt-4o-mini")
      expect(res.finishReason).toBe("stop")
      expect(res.usage).toEqual({ promptTokens: 4, completionTokens: 9, totalTokens: 13 })
    }))

  it.live("sends the request parameters in OpenAI's wire format, with the key as a bearer token", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      yield* client.generate({
        model: "gpt-4o-mini",
        messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
        maxTokens: 50,
        temperature: 0.2,
        topP: 0.9,
        stop: ["\n\n"],
        responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" } }
      })
      const sent = fake.server.requests[0]
      expect(sent.path).toBe("/v1/chat/completions")
      expect(sent.headers.authorization).toBe(`Bearer ${CANARY}`)
      expect(sent.body).toMatchObject({
        model: "gpt-4o-mini",
        messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
        // a configured base URL may be any compatible server: the universally known field
        max_tokens: 50,
        temperature: 0.2,
        top_p: 0.9,
        stop: ["\n\n"],
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } }
      })
      expect(sent.body).not.toHaveProperty("stream")
    }))

  it.live("maps json_object and a length finish", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ fake: { reply: "one two three four five" } })
      const res = yield* client.generate({ ...ask("x", { maxTokens: 2 }), responseFormat: { type: "json_object" } })
      expect(res.content).toBe("one two")
      expect(res.finishReason).toBe("length")
      expect(res.usage.completionTokens).toBe(2)
      expect(fake.server.requests[0].body).toMatchObject({ response_format: { type: "json_object" } })
    }))
})

eachTransport("OpenAIClient stream", (t) => {
  it.live("streams deltas that concatenate to the answer; the last chunk has exact usage and finishReason", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ fake: { reply: REPLY } })
      const chunks = Array.from(yield* Stream.runCollect(client.stream(ask("tell me a story please"))))
      const last = chunks[chunks.length - 1]
      expect(chunks.map((c) => c.delta).join("")).toBe(REPLY)
      expect(chunks.length).toBe(fakeTokenCount(REPLY) + 1)
      expect(last).toEqual({
        delta: "",
        finishReason: "stop",
        usage: { promptTokens: 5, completionTokens: 9, totalTokens: 14 }
      })
      expect(chunks.slice(0, -1).every((c) => c.usage === undefined && c.finishReason === undefined)).toBe(true)
      expect(fake.server.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    }))

  it.live("honours the fake's chunk count and interval", () =>
    Effect.gen(function*() {
      const { client } = yield* t.setup({ fake: { reply: REPLY, chunks: 3, chunkIntervalMs: 5 } })
      const chunks = Array.from(yield* Stream.runCollect(client.stream(ask("go"))))
      expect(chunks.length).toBe(4)
      expect(chunks.map((c) => c.delta).join("")).toBe(REPLY)
      expect(chunks[3].usage?.completionTokens).toBe(9)
    }))
})

eachTransport("OpenAIClient chat configuration", (t) => {
  it.live("a full …/chat/completions base URL is reduced to its base", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAI()
      const client = yield* t.makeClient(
        providerConfig(`${fake.baseUrl}/chat/completions`, { type: "openai-compatible", apiKey: undefined })
      )
      expect((yield* client.generate(ask("x"))).content.length).toBeGreaterThan(0)
      yield* client.embed({ model: "e", input: ["y"] })
      expect(fake.server.requests.map((r) => r.path)).toEqual(["/v1/chat/completions", "/v1/embeddings"])
    }))

  it.live("local servers need no key (a placeholder is sent); extra headers are passed through", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAI()
      const client = yield* t.makeClient(providerConfig(fake.baseUrl, {
        type: "lmstudio",
        apiKey: undefined,
        headers: { "x-proxy-token": Redacted.make("proxy-secret-123") }
      }))
      yield* client.generate(ask("x"))
      expect(fake.server.requests[0].headers.authorization).toMatch(/^Bearer \S+$/)
      expect(fake.server.requests[0].headers["x-proxy-token"]).toBe("proxy-secret-123")
    }))
})

describe("OpenAIClient embed", () => {
  it.live("returns one vector per input, in order, with usage (base64 on OpenAI's wire is decoded)", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ fake: { embeddingDimensions: 4 } })
      const res = yield* client.embed({ model: "text-embedding-3-small", input: ["alpha beta", "gamma"] })
      expect(res.embeddings).toEqual([fakeEmbedding("alpha beta", 4), fakeEmbedding("gamma", 4)])
      expect(res.usage).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 })
      expect(fake.server.requests[0].path).toBe("/v1/embeddings")
    }))

  it.live("asks compatible servers for float vectors", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ config: { type: "vllm" } })
      const res = yield* client.embed({ model: "e5", input: ["x"] })
      expect(res.embeddings).toEqual([fakeEmbedding("x")])
      expect(fake.server.requests[0].body).toMatchObject({ encoding_format: "float" })
    }))
})

describe("OpenAIClient health", () => {
  it.live("lists the upstream's models with a latency", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ fake: { models: ["gpt-4o-mini", "o3-mini"] } })
      const health = yield* client.health
      expect(health.healthy).toBe(true)
      expect(health.models).toEqual(["gpt-4o-mini", "o3-mini"])
      expect(health.latencyMs).toBeGreaterThanOrEqual(0)
    }))

  it.live("reports an unreachable or failing upstream as unhealthy, never failing", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.enqueueFault({ kind: "status", status: 503 })
      const failing = yield* client.health
      expect(failing.healthy).toBe(false)
      expect(failing.error).toContain("503")
      fake.enqueueFault({ kind: "hang" })
      const hung = yield* makeOpenAIClient(providerConfig(fake.baseUrl), { healthTimeoutMs: 100 }).pipe(
        Effect.flatMap((c) => c.health)
      )
      expect(hung).toMatchObject({ healthy: false })
      expect(hung.error).toBe("oai: timed out after 100 ms")
      yield* Effect.promise(() => fake.close())
      const down = yield* client.health
      expect(down.healthy).toBe(false)
      expect(down.error).toContain("connection failed")
    }))
})

describe("OpenAIClient configuration", () => {
  it.live("Azure: deployment path, api-version query and api-key header; deployment defaults to the model id", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAI({ apiKey: CANARY, reply: "azure says hi" })
      const pinned = yield* makeOpenAIClient(
        providerConfig(fake.url, { type: "azure-openai", apiVersion: "2024-06-01", deployment: "prod-4o" })
      )
      const res = yield* pinned.generate(ask("hello"))
      expect(res.content).toBe("azure says hi")
      const byModel = yield* makeOpenAIClient(providerConfig(`${fake.url}/`, { type: "azure-openai" }))
      yield* byModel.embed({ model: "text-embedding-3-small", input: ["a"] })
      const chunks = Array.from(yield* Stream.runCollect(byModel.stream(ask("hi there"))))
      expect(chunks.at(-1)?.usage).toEqual({ promptTokens: 2, completionTokens: 3, totalTokens: 5 })
      expect(fake.azureRequests).toEqual([
        { deployment: "prod-4o", apiVersion: "2024-06-01", operation: "chat/completions" },
        { deployment: "text-embedding-3-small", apiVersion: "2024-10-21", operation: "embeddings" },
        { deployment: "gpt-4o-mini", apiVersion: "2024-10-21", operation: "chat/completions" }
      ])
      const first = fake.server.requests[0]
      expect(first.path).toBe("/openai/deployments/prod-4o/chat/completions")
      expect(first.headers["api-key"]).toBe(CANARY)
      expect(first.headers.authorization).toBeUndefined()
    }))

  it.live("Azure: a full deployment URL supplies the deployment and api-version", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAI({ apiKey: CANARY })
      const client = yield* makeOpenAIClient(providerConfig(
        `${fake.url}/openai/deployments/east-4o/chat/completions?api-version=2025-01-01-preview`,
        { type: "azure-openai" }
      ))
      yield* client.generate(ask("x"))
      expect(fake.azureRequests).toEqual([{ deployment: "east-4o", apiVersion: "2025-01-01-preview", operation: "chat/completions" }])
    }))

  it.live("rejects entries that cannot work with a ConfigurationError naming the field", () =>
    Effect.gen(function*() {
      const cases = [
        [{ type: "openai-compatible", baseUrl: undefined }, "providers.oai.baseUrl"],
        [{ type: "openai", baseUrl: undefined, apiKey: undefined }, "providers.oai.apiKey"],
        [{ type: "azure-openai", apiKey: undefined }, "providers.oai.apiKey"],
        [{ type: "azure-openai", baseUrl: undefined }, "providers.oai.baseUrl"],
        [{ type: "vllm", baseUrl: "ftp://example" }, "providers.oai.baseUrl"]
      ] as const
      for (const [overrides, path] of cases) {
        const error = yield* Effect.flip(makeOpenAIClient(providerConfig("http://127.0.0.1:1/v1", overrides)))
        expect(error).toMatchObject({ _tag: "ConfigurationError", path })
      }
    }))

  it.effect("hosted types default to their public endpoints; only OpenAI's own API gets max_completion_tokens", () =>
    Effect.gen(function*() {
      const openai = yield* resolveSettings(providerConfig("x", { baseUrl: undefined }))
      expect(openai).toMatchObject({ baseURL: "https://api.openai.com/v1", maxTokensField: "max_completion_tokens", apiKey: CANARY })
      const gemini = yield* resolveSettings(providerConfig("x", { type: "gemini", baseUrl: undefined }))
      expect(gemini).toMatchObject({ baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", maxTokensField: "max_tokens" })
      const proxied = yield* resolveSettings(providerConfig("https://proxy.internal/v1/chat/completions?tenant=a"))
      expect(proxied).toMatchObject({ baseURL: "https://proxy.internal/v1", query: { tenant: "a" }, maxTokensField: "max_tokens" })
    }))

  it.live("OpenAIClient.layer provides ModelClient", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAI({ apiKey: CANARY, reply: "from the layer" })
      const res = yield* ModelClient.use((c) => c.generate(ask("x"))).pipe(
        Effect.provide(OpenAIClient.layer(providerConfig(fake.baseUrl)))
      )
      expect(res.content).toBe("from the layer")
      expect(fakePromptTokens([{ role: "user", content: "x" }])).toBe(res.usage.promptTokens)
    }))
})
