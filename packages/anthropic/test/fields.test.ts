/** The field rule for Anthropic (issue 11): `user` is `metadata.user_id`, through the real SDK. */
import { expect, it } from "@effect/vitest"
import { decideFields } from "@llm-gateway/core/providers/RequestFields"
import { Effect, Stream } from "effect"
import { request, setup } from "./fixtures.ts"

it.live("OpenAI's user becomes metadata.user_id, on generate and stream", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup()
    yield* client.generate(request({ extra: { user: "user-1234" } }))
    expect(fake.messageBodies().at(-1)).toMatchObject({ metadata: { user_id: "user-1234" } })
    yield* Stream.runDrain(client.stream(request({ extra: { user: "user-5678" } })))
    expect(fake.messageBodies().at(-1)).toMatchObject({ metadata: { user_id: "user-5678" } })
    yield* client.generate(request())
    expect(fake.messageBodies().at(-1)).not.toHaveProperty("metadata")
  }))

it.effect("the client's policy: user mapped, seed ignored, logprobs and logit_bias refused", () =>
  Effect.gen(function*() {
    const { client } = yield* setup()
    expect(decideFields(client.fields, { user: "u", seed: 1 })).toEqual({ send: { user: "u" }, ignored: ["seed"], refused: undefined })
    expect(decideFields(client.fields, { logit_bias: { "1": 5 } }).refused).toBe("logit_bias")
    expect(decideFields(client.fields, { logprobs: true }).refused).toBe("logprobs")
  }).pipe(Effect.scoped))
