import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { LLMRequest, parseModelRef } from "../src/domain/Domain.ts"
import { RateLimitExceeded, InvalidRequest } from "../src/domain/LLMError.ts"

describe("domain", () => {
  it("parses model refs at the first slash", () => {
    expect(parseModelRef("ollama/library/llama3")).toEqual({ provider: "ollama", model: "library/llama3" })
    expect(parseModelRef("gpt-4o")).toBeUndefined()
  })
  it.effect("errors know their policy", () =>
    Effect.gen(function*() {
      const e = new RateLimitExceeded({ model: "a/b", retryAfter: 1500 })
      expect([e.isRetryable, e.shouldFallback, e.retryAfterMs]).toEqual([true, true, 1500])
      const r = yield* Effect.flip(Effect.fail(new InvalidRequest({ message: "bad" })))
      expect([r._tag, r.isRetryable, r.shouldFallback]).toEqual(["InvalidRequest", false, false])
      const decoded = yield* Schema.decodeUnknownEffect(LLMRequest)({ prompt: "hi", preferences: { maxTokens: 5 } })
      expect(decoded.preferences?.maxTokens).toBe(5)
    }))
})
