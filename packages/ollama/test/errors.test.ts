/**
 * Every row of the error table, through the real SDK against the fake Ollama on loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { type OllamaFault, ollamaModelNotFound } from "@llm-gateway/testing/FakeOllama"
import { startLoopbackServer } from "@llm-gateway/testing/LoopbackServer"
import { Effect, Stream } from "effect"
import { vi } from "vitest"
import { retryAfterMs } from "../src/internal/errors.ts"
import { makeOllamaClient } from "../src/OllamaClient.ts"
import { closedPort, MODEL, providerConfig, request, setup } from "./helpers.ts"

const REF = `local/${MODEL}`

/** The error a non-streamed generate fails with after the fake injects `fault`. */
const generateError = (fault: OllamaFault) =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup()
    fake.fail(fault)
    return yield* Effect.flip(client.generate(request()))
  })

const policy = (e: LLMError) => ({ tag: e._tag, retry: e.isRetryable, fallback: e.shouldFallback })

describe("Ollama error table (HTTP statuses)", () => {
  it.live("400 naming the context length → ContextTooLarge with the counts from the message", () =>
    Effect.gen(function*() {
      const e = yield* generateError({
        kind: "status",
        status: 400,
        body: { error: "requested 5000 tokens, but the context length is 4096" }
      })
      expect(e).toMatchObject({ _tag: "ContextTooLarge", model: REF, tokenCount: 5000, contextWindow: 4096 })
      expect(policy(e)).toEqual({ tag: "ContextTooLarge", retry: false, fallback: true })
    }))

  it.live("400 context error without counts → ContextTooLarge with an estimate", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 400, body: { error: "the input length exceeds the context length" } })
      expect(e._tag).toBe("ContextTooLarge")
      expect((e as { tokenCount: number }).tokenCount).toBe(Math.ceil("say hello to the world".length / 4))
    }))

  it.live("other 400 → InvalidRequest, no retry, no fallback", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 400, body: { error: "invalid options: num_predict" } })
      expect(e).toMatchObject({ _tag: "InvalidRequest", model: REF, message: "invalid options: num_predict" })
      expect(policy(e)).toEqual({ tag: "InvalidRequest", retry: false, fallback: false })
    }))

  it.live("422 → InvalidRequest", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 422 })
      expect(e._tag).toBe("InvalidRequest")
    }))

  it.live("401 → AuthenticationFailed", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 401 })
      expect(e).toMatchObject({ _tag: "AuthenticationFailed", model: REF, status: 401, message: "unauthorized" })
      expect(policy(e)).toEqual({ tag: "AuthenticationFailed", retry: false, fallback: true })
    }))

  it.live("403 → AuthenticationFailed", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 403 })
      expect(e).toMatchObject({ _tag: "AuthenticationFailed", status: 403 })
    }))

  it.live("404 model not found → ModelUnavailable that is not retried but falls back", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ models: ["qwen2.5:7b"], strictModels: true })
      const e = yield* Effect.flip(client.generate(request()))
      expect(e).toMatchObject({ _tag: "ModelUnavailable", model: REF, status: 404, message: ollamaModelNotFound(MODEL) })
      expect(policy(e)).toEqual({ tag: "ModelUnavailable", retry: false, fallback: true })
    }))

  it.live("408 → TimeoutError", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 408, body: { error: "request timeout" } })
      expect(e).toMatchObject({ _tag: "TimeoutError", model: REF })
      expect(e.isRetryable).toBe(true)
    }))

  it.live("409 → ModelUnavailable, retryable", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 409, body: { error: "model is loading" } })
      expect(e).toMatchObject({ _tag: "ModelUnavailable", status: 409 })
      expect(e.isRetryable).toBe(true)
    }))

  it.live("429 with retry-after seconds → RateLimitExceeded with the delay in ms", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 429, headers: { "retry-after": "2" } })
      expect(e).toMatchObject({ _tag: "RateLimitExceeded", model: REF, retryAfter: 2_000 })
      expect(e.retryAfterMs).toBe(2_000)
    }))

  it.live("429 with retry-after-ms wins over retry-after", () =>
    Effect.gen(function*() {
      const e = yield* generateError({
        kind: "status",
        status: 429,
        headers: { "retry-after-ms": "250", "retry-after": "9" }
      })
      expect(e.retryAfterMs).toBe(250)
    }))

  it.live("429 without a delay → RateLimitExceeded with retryAfter 0", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 429 })
      expect(e).toMatchObject({ _tag: "RateLimitExceeded", retryAfter: 0 })
    }))

  it("retry-after as an HTTP date is the time until then", () => {
    const now = Date.parse("2025-01-01T00:00:00Z")
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now)).toBe(3_000)
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBe(0)
  })

  it.live("500 → ModelUnavailable, retryable", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 500 })
      expect(e).toMatchObject({ _tag: "ModelUnavailable", status: 500, message: "internal server error" })
      expect(policy(e)).toEqual({ tag: "ModelUnavailable", retry: true, fallback: true })
    }))

  it.live("503 busy → ModelUnavailable, retryable", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 503, headers: { "retry-after": "1" } })
      expect(e).toMatchObject({ _tag: "ModelUnavailable", status: 503 })
      expect(e.isRetryable).toBe(true)
    }))

  it.live("x-should-retry: false overrides a retryable status", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 503, headers: { "x-should-retry": "false" } })
      expect(policy(e)).toEqual({ tag: "ModelUnavailable", retry: false, fallback: true })
    }))

  it.live("x-should-retry: true overrides a non-retryable status", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "status", status: 400, headers: { "x-should-retry": "true" } })
      expect(policy(e)).toEqual({ tag: "InvalidRequest", retry: true, fallback: false })
    }))

  it.live("a proxy's non-JSON error page keeps its status and text", () =>
    Effect.gen(function*() {
      const log = vi.spyOn(console, "log")
      const server = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startLoopbackServer(({ res }) => {
            res.writeHead(502, { "content-type": "text/html" })
            res.end("<html>bad gateway</html>")
          })
        ),
        (s) => Effect.promise(() => s.close())
      )
      const client = yield* makeOllamaClient(providerConfig(server.url))
      const e = yield* Effect.flip(client.generate(request()))
      expect(e).toMatchObject({ _tag: "ModelUnavailable", status: 502, message: "<html>bad gateway</html>" })
      expect(log).not.toHaveBeenCalled()
      log.mockRestore()
    }))
})

describe("Ollama error table (transport)", () => {
  it.live("connection refused → NetworkError", () =>
    Effect.gen(function*() {
      const port = yield* closedPort()
      const client = yield* makeOllamaClient(providerConfig(`http://127.0.0.1:${port}`))
      const e = yield* Effect.flip(client.generate(request()))
      expect(e).toMatchObject({ _tag: "NetworkError", model: REF })
      expect(e.message).toMatch(/ECONNREFUSED/)
      expect(policy(e)).toEqual({ tag: "NetworkError", retry: true, fallback: true })
    }))

  it.live("connection reset → NetworkError", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "reset" })
      expect(e._tag).toBe("NetworkError")
    }))

  it.live("a 200 that is not JSON → ModelUnavailable", () =>
    Effect.gen(function*() {
      const e = yield* generateError({ kind: "malformed" })
      expect(e._tag).toBe("ModelUnavailable")
      expect(e.message).toMatch(/malformed response/)
    }))

  it.live("embed and stream map errors through the same table", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.fail({ kind: "status", status: 404 }, { kind: "status", status: 429, headers: { "retry-after": "3" } })
      const embed = yield* Effect.flip(client.embed({ model: "nomic-embed-text", input: ["x"] }))
      expect(embed).toMatchObject({ _tag: "ModelUnavailable", model: "local/nomic-embed-text", status: 404 })
      const stream = yield* Effect.flip(Stream.runDrain(client.stream(request())))
      expect(stream).toMatchObject({ _tag: "RateLimitExceeded", retryAfter: 3_000 })
    }))
})

describe("Ollama stream failures", () => {
  /** Collects what the stream emitted before it failed, and the failure. */
  const streamFailure = (fault: OllamaFault) =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ reply: "one two three four five" })
      fake.fail(fault)
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.runForEach(client.stream(request()), (c) => Effect.sync(() => seen.push(c.delta)))
      )
      return { seen, error }
    })

  it.live("a stream cut after two chunks → NetworkError after those chunks", () =>
    Effect.gen(function*() {
      const { seen, error } = yield* streamFailure({ kind: "cutAfter", chunks: 2 })
      expect(seen).toEqual(["one ", "two "])
      expect(error).toMatchObject({ _tag: "NetworkError", model: REF })
    }))

  it.live("an in-band context error line → ContextTooLarge", () =>
    Effect.gen(function*() {
      const { seen, error } = yield* streamFailure({
        kind: "streamError",
        afterChunks: 1,
        message: "input exceeds maximum context length"
      })
      expect(seen).toEqual(["one "])
      expect(error._tag).toBe("ContextTooLarge")
    }))

  it.live("an in-band runner error line → ModelUnavailable", () =>
    Effect.gen(function*() {
      const { error } = yield* streamFailure({ kind: "streamError", afterChunks: 2, message: "llama runner process has terminated" })
      expect(error).toMatchObject({ _tag: "ModelUnavailable", message: "llama runner process has terminated" })
      expect(error.isRetryable).toBe(true)
    }))

  it.live("a stream that ends without its done line → NetworkError", () =>
    Effect.gen(function*() {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {})
      const { error } = yield* streamFailure({ kind: "malformed" })
      warn.mockRestore()
      expect(error).toMatchObject({ _tag: "NetworkError", message: "stream ended before the final (done) message" })
    }))
})
