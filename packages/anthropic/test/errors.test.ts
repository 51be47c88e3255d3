/**
 * Every row of the SDK error → LLMError table, produced by the real SDK against the fake's
 * real wire-format failures. Every error is also checked for the canary API key.
 */
import { describe, expect, it } from "@effect/vitest"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { type AnthropicFault, anthropicErrorBody, promptTooLongFault, startFakeAnthropic } from "@llm-gateway/testing/FakeAnthropic"
import { Effect, Stream } from "effect"
import { makeAnthropicClient } from "../src/AnthropicClient.ts"
import { retryAfterMs } from "../src/internal/errors.ts"
import { CANARY, expectNoSecret, providerConfig, request, setup } from "./fixtures.ts"

const status = (code: number, message?: string, headers?: Record<string, string>): AnthropicFault => ({
  kind: "status",
  status: code,
  body: anthropicErrorBody(code, message),
  ...(headers ? { headers } : {})
})

/** The error `generate` fails with when the fake answers with `fault`. */
const generateError = (fault: AnthropicFault, clientOptions?: { requestTimeoutMs?: number }) =>
  Effect.gen(function*() {
    const { fake, client } = yield* setup({}, {}, clientOptions)
    fake.fail(fault)
    const error = yield* Effect.flip(client.generate(request()))
    expectNoSecret(error)
    return error
  })

/** What a stream delivered before failing, and the failure (a success would fail the test). */
const streamFailure = (fault: AnthropicFault) =>
  Effect.gen(function*() {
    const { fake, client } = yield* setup({ reply: "abcdefghijklmnop", chunks: 8 })
    fake.fail(fault)
    const chunks: Array<{ delta: string; finishReason?: string | undefined }> = []
    const error = yield* Effect.flip(
      Stream.runForEach(client.stream(request()), (c) => Effect.sync(() => chunks.push(c)))
    )
    expectNoSecret(error)
    return { chunks, error }
  })

const verdict = (e: LLMError) => ({ tag: e._tag, retry: e.isRetryable, fallback: e.shouldFallback })

describe("error table: HTTP status answers", () => {
  it.live("400 prompt is too long → ContextTooLarge with the token count and window", () =>
    Effect.gen(function*() {
      const error = yield* generateError(promptTooLongFault(210000, 200000))
      expect(error).toMatchObject({ _tag: "ContextTooLarge", tokenCount: 210000, contextWindow: 200000 })
      expect(verdict(error)).toEqual({ tag: "ContextTooLarge", retry: false, fallback: true })
      expect(error).toMatchObject({ model: "anthropic/claude-3-haiku-20240307" })
    }))

  it.live("400 input + max_tokens over the context limit → ContextTooLarge with the sum", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(
        400,
        "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again"
      ))
      expect(error).toMatchObject({ _tag: "ContextTooLarge", tokenCount: 209573, contextWindow: 200000 })
    }))

  it.live("other 400 → InvalidRequest (no retry, no fallback)", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(400, "messages: roles must alternate"))
      expect(verdict(error)).toEqual({ tag: "InvalidRequest", retry: false, fallback: false })
      expect(error.message).toContain("roles must alternate")
    }))

  it.live("422 → InvalidRequest", () =>
    Effect.gen(function*() {
      expect((yield* generateError(status(422)))._tag).toBe("InvalidRequest")
    }))

  it.live("401 (the upstream rejects the key) → AuthenticationFailed, falls back, no retry", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeAnthropic({ apiKey: "sk-ant-another-key" })),
        (f) => Effect.promise(() => f.close())
      )
      const client = yield* makeAnthropicClient(providerConfig(fake.url))
      const error = yield* Effect.flip(client.generate(request()))
      expectNoSecret(error)
      expect(error).toMatchObject({ _tag: "AuthenticationFailed", status: 401 })
      expect(verdict(error)).toEqual({ tag: "AuthenticationFailed", retry: false, fallback: true })
    }))

  it.live("403 → AuthenticationFailed", () =>
    Effect.gen(function*() {
      expect(yield* generateError(status(403))).toMatchObject({ _tag: "AuthenticationFailed", status: 403 })
    }))

  it.live("404 → ModelUnavailable that is not retried but falls back", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(404, "model: claude-nope"))
      expect(verdict(error)).toEqual({ tag: "ModelUnavailable", retry: false, fallback: true })
    }))

  it.live("408 → TimeoutError", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(408))
      expect(verdict(error)).toEqual({ tag: "TimeoutError", retry: true, fallback: true })
    }))

  it.live("the client's own timeout (APIConnectionTimeoutError) → TimeoutError with the limit", () =>
    Effect.gen(function*() {
      const error = yield* generateError({ kind: "hang" }, { requestTimeoutMs: 150 })
      expect(error).toMatchObject({ _tag: "TimeoutError", timeoutMs: 150 })
    }))

  it.live("409 → ModelUnavailable, retryable", () =>
    Effect.gen(function*() {
      expect(verdict(yield* generateError(status(409)))).toEqual({ tag: "ModelUnavailable", retry: true, fallback: true })
    }))

  it.live("429 → RateLimitExceeded, retry-after-ms wins over retry-after", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(429, "slow down", { "retry-after-ms": "1500", "retry-after": "30" }))
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", retryAfter: 1500 })
      expect(error.retryAfterMs).toBe(1500)
    }))

  it.live("429 with retry-after in seconds → RateLimitExceeded in ms", () =>
    Effect.gen(function*() {
      expect(yield* generateError(status(429, undefined, { "retry-after": "3" }))).toMatchObject({ retryAfter: 3000 })
    }))

  it.live("429 with retry-after as an HTTP date → RateLimitExceeded until that date", () =>
    Effect.gen(function*() {
      const at = new Date(Date.now() + 10_000).toUTCString()
      const error = yield* generateError(status(429, undefined, { "retry-after": at }))
      // HTTP dates have 1 s resolution.
      expect(error._tag === "RateLimitExceeded" && error.retryAfter).toBeGreaterThan(8_000)
      expect(error._tag === "RateLimitExceeded" && error.retryAfter).toBeLessThanOrEqual(10_000)
    }))

  it.live("429 without a hint → RateLimitExceeded with retryAfter 0", () =>
    Effect.gen(function*() {
      expect(yield* generateError(status(429))).toMatchObject({ _tag: "RateLimitExceeded", retryAfter: 0 })
    }))

  it.live("500 → ModelUnavailable, retryable", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(500))
      expect(error).toMatchObject({ _tag: "ModelUnavailable", status: 500 })
      expect(error.isRetryable).toBe(true)
    }))

  it.live("503 → ModelUnavailable", () =>
    Effect.gen(function*() {
      expect(yield* generateError(status(503))).toMatchObject({ _tag: "ModelUnavailable", status: 503 })
    }))

  it.live("529 overloaded_error → ModelUnavailable, retryable", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(529, "Overloaded"))
      expect(error).toMatchObject({ _tag: "ModelUnavailable", status: 529 })
      expect(error.message).toContain("overloaded_error")
      expect(error.isRetryable).toBe(true)
    }))

  it.live("x-should-retry: false overrides a retryable status", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(529, "Overloaded", { "x-should-retry": "false" }))
      expect(verdict(error)).toEqual({ tag: "ModelUnavailable", retry: false, fallback: true })
    }))

  it.live("x-should-retry: true overrides a non-retryable status", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(400, "try again", { "x-should-retry": "true" }))
      expect(verdict(error)).toEqual({ tag: "InvalidRequest", retry: true, fallback: false })
    }))
})

describe("error table: transport failures", () => {
  it.live("connection refused → NetworkError, retryable", () =>
    Effect.gen(function*() {
      const gone = yield* Effect.promise(() => startFakeAnthropic())
      yield* Effect.promise(() => gone.close())
      const client = yield* makeAnthropicClient(providerConfig(gone.url))
      const error = yield* Effect.flip(client.generate(request()))
      expectNoSecret(error)
      expect(verdict(error)).toEqual({ tag: "NetworkError", retry: true, fallback: true })
      expect(error.message).toContain("ECONNREFUSED")
    }))

  it.live("connection reset → NetworkError", () =>
    Effect.gen(function*() {
      expect((yield* generateError({ kind: "reset" }))._tag).toBe("NetworkError")
    }))

  it.live("a 200 with a malformed JSON body → ModelUnavailable", () =>
    Effect.gen(function*() {
      const error = yield* generateError({ kind: "malformed" })
      expect(error).toMatchObject({ _tag: "ModelUnavailable", message: "malformed response from upstream" })
    }))

  it.live("a JSON answer cut half-way → NetworkError", () =>
    Effect.gen(function*() {
      const error = yield* generateError({ kind: "cutAfter", chunks: 0 })
      expect(verdict(error)).toEqual({ tag: "NetworkError", retry: true, fallback: true })
    }))

  it.live("the API key is scrubbed even when an upstream echoes it", () =>
    Effect.gen(function*() {
      const error = yield* generateError(status(400, `unknown key ${CANARY} for this workspace`))
      expect(error.message).toContain("unknown key [REDACTED] for this workspace")
    }))
})

describe("error table: streams", () => {
  it.live("an error event after the first chunk → typed ModelUnavailable, never a silent success", () =>
    Effect.gen(function*() {
      const { chunks, error } = yield* streamFailure({ kind: "streamError", afterChunks: 2, errorType: "overloaded_error" })
      expect(chunks.map((c) => c.delta)).toEqual(["ab", "cd"])
      expect(chunks.some((c) => c.finishReason !== undefined)).toBe(false)
      expect(error).toMatchObject({ _tag: "ModelUnavailable", status: 529 })
      expect(error.isRetryable).toBe(true)
    }))

  it.live("an api_error event mid-stream → ModelUnavailable 500", () =>
    Effect.gen(function*() {
      const { error } = yield* streamFailure({ kind: "streamError", afterChunks: 1, errorType: "api_error", message: "boom" })
      expect(error).toMatchObject({ _tag: "ModelUnavailable", status: 500 })
    }))

  it.live("a rate_limit_error event mid-stream → RateLimitExceeded", () =>
    Effect.gen(function*() {
      const { error } = yield* streamFailure({ kind: "streamError", afterChunks: 1, errorType: "rate_limit_error" })
      expect(error._tag).toBe("RateLimitExceeded")
    }))

  it.live("a stream cut after 3 chunks → NetworkError after those chunks", () =>
    Effect.gen(function*() {
      const { chunks, error } = yield* streamFailure({ kind: "cutAfter", chunks: 3 })
      expect(chunks.map((c) => c.delta).join("")).toBe("abcdef")
      expect(error._tag).toBe("NetworkError")
    }))

  it.live("a stream that ends cleanly without message_stop → NetworkError, not a short success", () =>
    Effect.gen(function*() {
      const { chunks, error } = yield* streamFailure({ kind: "truncate", afterChunks: 2 })
      expect(chunks.map((c) => c.delta)).toEqual(["ab", "cd"])
      expect(error).toMatchObject({ _tag: "NetworkError", message: "stream ended before message_stop" })
    }))

  it.live("a malformed event → ModelUnavailable", () =>
    Effect.gen(function*() {
      const { chunks, error } = yield* streamFailure({ kind: "malformed" })
      expect(chunks).toHaveLength(0)
      expect(error._tag).toBe("ModelUnavailable")
    }))

  it.live("an error status before the stream starts → the same table (529)", () =>
    Effect.gen(function*() {
      const { chunks, error } = yield* streamFailure(status(529, "Overloaded"))
      expect(chunks).toHaveLength(0)
      expect(error).toMatchObject({ _tag: "ModelUnavailable", status: 529 })
    }))

  it.live("prompt too long on a stream request → ContextTooLarge", () =>
    Effect.gen(function*() {
      const { error } = yield* streamFailure(promptTooLongFault(250000, 200000))
      expect(error).toMatchObject({ _tag: "ContextTooLarge", tokenCount: 250000 })
    }))
})

describe("retryAfterMs", () => {
  const h = (init: Record<string, string>) => new Headers(init)
  it("parses ms, seconds and HTTP dates; ignores garbage", () => {
    const now = Date.parse("2025-01-01T00:00:00Z")
    expect(retryAfterMs(h({ "retry-after-ms": "250.5" }), now)).toBe(251)
    expect(retryAfterMs(h({ "retry-after": "1.5" }), now)).toBe(1500)
    expect(retryAfterMs(h({ "retry-after": "Wed, 01 Jan 2025 00:00:07 GMT" }), now)).toBe(7000)
    expect(retryAfterMs(h({ "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" }), now)).toBe(0)
    expect(retryAfterMs(h({ "retry-after": "soon" }), now)).toBe(0)
    expect(retryAfterMs(h({ "retry-after-ms": "-5", "retry-after": "2" }), now)).toBe(2000)
    expect(retryAfterMs(undefined, now)).toBe(0)
  })
})
