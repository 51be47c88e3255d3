/**
 * The field rule on OpenAI's wire (issue 11), on both transports: what the gateway does not
 * interpret reaches the upstream unchanged; `n`, the caller's max-tokens name, `strict`,
 * embeddings `dimensions` and token arrays too.
 */
import { expect, it } from "@effect/vitest"
import { fakeEmbedding } from "@llm-gateway/testing/FakeOpenAI"
import { Effect, Stream } from "effect"
import { ask, eachTransport, setup } from "./fixtures.ts"

eachTransport("the field rule", (t) => {
  it.live("extra fields reach the upstream unchanged, the gateway's own fields win", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      const extra = { seed: 7, logprobs: true, top_logprobs: 2, user: "u-1", top_k: 40, model: "not-this-one" }
      yield* client.generate({ ...ask("hi"), extra })
      expect(fake.lastBody()).toMatchObject({ seed: 7, logprobs: true, top_logprobs: 2, user: "u-1", top_k: 40, model: "gpt-4o-mini" })
    }))

  it.live("a stream carries them as well", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      yield* Stream.runDrain(client.stream({ ...ask("hi"), extra: { seed: 8, service_tier: "flex" } }))
      expect(fake.lastBody()).toMatchObject({ seed: 8, service_tier: "flex", stream: true, stream_options: { include_usage: true } })
    }))

  it.live("max_completion_tokens is sent under the name the caller used", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      yield* client.generate({ ...ask("hi", { maxTokens: 64 }), maxTokensField: "max_completion_tokens" })
      expect(fake.lastBody()).toMatchObject({ max_completion_tokens: 64 })
      expect(fake.lastBody()).not.toHaveProperty("max_tokens")
      yield* client.generate({ ...ask("hi", { maxTokens: 32 }), maxTokensField: "max_tokens" })
      expect(fake.lastBody()).toMatchObject({ max_tokens: 32 })
    }))

  it.live("n is sent and every choice comes back in order", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      const r = yield* client.generate({ ...ask("hi"), n: 3 })
      expect(fake.lastBody()?.n).toBe(3)
      expect(r.choices?.map((c) => c.content)).toEqual(Array(3).fill("Hello from the fake upstream."))
      expect(client.fields?.nativeN).toBe(true)
    }))

  it.live("json_schema.strict and description are passed", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      const schema = { type: "object" }
      yield* client.generate({ ...ask("hi"), responseFormat: { type: "json_schema", name: "x", schema, strict: true, description: "d" } })
      expect(fake.lastBody()?.response_format).toEqual({ type: "json_schema", json_schema: { name: "x", schema, strict: true, description: "d" } })
    }))
})

eachTransport("embeddings on OpenAI's wire", (t) => {
  it.live("dimensions and token arrays go upstream as given", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      const short = yield* client.embed({ model: "text-embedding-3-small", input: ["alpha"], dimensions: 4 })
      expect(short.embeddings[0]).toEqual(fakeEmbedding("alpha", 4))
      const ids = yield* client.embed({ model: "text-embedding-3-small", input: [[1, 2], [3]] })
      expect(fake.lastBody()?.input).toEqual([[1, 2], [3]])
      expect(ids.embeddings).toHaveLength(2)
    }))
})

it.live("openai-compatible servers do not get n: the manager fans out instead", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup({ config: { type: "vllm" } })
    expect(client.fields?.nativeN).toBe(false)
    yield* client.generate({ ...ask("hi"), extra: { top_k: 5 } })
    expect(fake.lastBody()?.top_k).toBe(5)
  }))
