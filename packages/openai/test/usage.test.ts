/**
 * Usage details through the real SDK and the direct transport: OpenAI's cached prompt tokens
 * and reasoning tokens reach the gateway's `Usage` (JSON and stream), so they can be priced.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { ask, eachTransport } from "./fixtures.ts"

const REPLY = "one two three"

eachTransport("OpenAIClient usage details", (t) => {
  it.live("reports prompt_tokens_details.cached_tokens and completion_tokens_details.reasoning_tokens", () =>
    Effect.gen(function*() {
      const { client } = yield* t.setup({ fake: { reply: REPLY, usageDetails: { cachedTokens: 3, reasoningTokens: 7 } } })
      const res = yield* client.generate(ask("a b c d e"))
      // prompt_tokens already includes the cached ones; completion_tokens the reasoning ones
      expect(res.usage).toEqual({ promptTokens: 5, completionTokens: 10, totalTokens: 15, cachedPromptTokens: 3, reasoningTokens: 7 })
    }))

  it.live("carries them on the final chunk of a stream", () =>
    Effect.gen(function*() {
      const { client } = yield* t.setup({ fake: { reply: REPLY, usageDetails: { cachedTokens: 4, reasoningTokens: 2 } } })
      const chunks = yield* Stream.runCollect(client.stream(ask("a b c d e f")))
      expect(chunks.at(-1)?.usage).toEqual({ promptTokens: 6, completionTokens: 5, totalTokens: 11, cachedPromptTokens: 4, reasoningTokens: 2 })
    }))

  it.live("zero details (what OpenAI sends when nothing was cached) leave the usage plain", () =>
    Effect.gen(function*() {
      const { client } = yield* t.setup({ fake: { reply: REPLY, usageDetails: { cachedTokens: 0, reasoningTokens: 0 } } })
      const res = yield* client.generate(ask("a b"))
      expect(res.usage).toEqual({ promptTokens: 2, completionTokens: 3, totalTokens: 5 })
    }))
})
