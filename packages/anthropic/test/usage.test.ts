/**
 * Prompt-cache usage through the real SDK: Anthropic's `input_tokens` EXCLUDES cache reads and
 * writes; the gateway's `promptTokens` includes them (OpenAI's convention) and names them.
 */
import { describe, expect, it } from "@effect/vitest"
import { fakeInputTokens } from "@llm-gateway/testing/FakeAnthropic"
import { Effect, Stream } from "effect"
import { MODEL, request, setup } from "./fixtures.ts"

const prompt = "A long system prompt that the caller marked for caching. ".repeat(20)
const req = request({ messages: [{ role: "system", content: prompt }, { role: "user", content: "Say hello." }] })
const total = fakeInputTokens({ model: MODEL, max_tokens: 1, system: prompt, messages: [{ role: "user", content: "Say hello." }] })

describe("AnthropicClient prompt-cache usage", () => {
  it.live("cache reads and writes count in promptTokens and are named (JSON)", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "Hello!", outputTokens: 2, cacheReadInputTokens: 200, cacheCreationInputTokens: 50 })
      const res = yield* client.generate(req)
      // the fake reported input_tokens = total - 250, as the real API would
      expect(fake.requests.length).toBe(1)
      expect(res.usage).toEqual({
        promptTokens: total,
        completionTokens: 2,
        totalTokens: total + 2,
        cachedPromptTokens: 200,
        cacheWriteTokens: 50
      })
    }))

  it.live("the same on the final chunk of a stream", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ reply: "Hello there!", outputTokens: 3, cacheReadInputTokens: 120 })
      const chunks = yield* Stream.runCollect(client.stream(req))
      expect(chunks.at(-1)?.usage).toEqual({ promptTokens: total, completionTokens: 3, totalTokens: total + 3, cachedPromptTokens: 120 })
    }))
})
