/** The field rule for Ollama (issue 11): `seed` and the penalties are options of the same name. */
import { expect, it } from "@effect/vitest"
import { decideFields } from "@llm-gateway/core/providers/RequestFields"
import { Effect, Stream } from "effect"
import { request, setup } from "./helpers.ts"

it.live("seed, frequency_penalty and presence_penalty reach options, on generate and stream", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup()
    const extra = { seed: 42, frequency_penalty: 0.5, presence_penalty: -0.5 }
    yield* client.generate(request({ extra, maxTokens: 20 }))
    expect(fake.chatRequests().at(-1)?.options).toEqual({ seed: 42, frequency_penalty: 0.5, presence_penalty: -0.5, num_predict: 20 })
    yield* Stream.runDrain(client.stream(request({ extra: { seed: 7 } })))
    expect(fake.chatRequests().at(-1)?.options).toEqual({ seed: 7 })
  }))

it.live("embeddings: dimensions passed, token arrays refused naming input", () =>
  Effect.gen(function*() {
    const { client } = yield* setup({}, undefined, { models: [{ id: "nomic-embed-text:latest", embedding: true }] })
    const r = yield* client.embed({ model: "nomic-embed-text:latest", input: ["a"], dimensions: 4 })
    expect(r.embeddings[0]).toHaveLength(4)
    const e = yield* Effect.flip(client.embed({ model: "nomic-embed-text:latest", input: [[1, 2]] }))
    expect(e).toMatchObject({ _tag: "InvalidRequest", param: "input" })
  }))

it.effect("the client's policy: user ignored, logprobs refused", () =>
  Effect.gen(function*() {
    const { client } = yield* setup()
    expect(decideFields(client.fields, { user: "u", seed: 1 })).toEqual({ send: { seed: 1 }, ignored: ["user"], refused: undefined })
    expect(decideFields(client.fields, { logprobs: true }).refused).toBe("logprobs")
  }).pipe(Effect.scoped))
