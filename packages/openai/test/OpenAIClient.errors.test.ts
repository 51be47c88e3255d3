/**
 * One test per row of the error table (src/internal/errors.ts): the fake answers with a status,
 * headers and OpenAI's error body; the client must fail with the right
 * LLMError — and no error ever shows the API key. Every row runs on both chat transports: the SDK
 * throws its APIError classes, the direct path reads status, headers and body itself; both must
 * land on the same row.
 */
import { describe, expect, it } from "@effect/vitest"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { openAIErrorBody } from "@llm-gateway/testing/FakeOpenAI"
import { type Fault, loopbackServer } from "@llm-gateway/testing/LoopbackServer"
import { Effect, Stream } from "effect"
import { APIError } from "openai"
import { toLLMError } from "../src/internal/errors.ts"
import { ask, CANARY, eachTransport, providerConfig } from "./fixtures.ts"

const MODEL = "oai/gpt-4o-mini"

const status = (code: number, headers?: Record<string, string>, body?: unknown): Fault => ({
  kind: "status",
  status: code,
  ...(headers ? { headers } : {}),
  ...(body ? { body } : {})
})

/** Everything a caller (or a log line) could see of an error. */
const visible = (e: LLMError) => `${e.message} ${String(e)} ${JSON.stringify(e)}`

const expectNoSecret = (e: LLMError) => expect(visible(e)).not.toContain(CANARY)

interface Row {
  readonly name: string
  readonly fault: Fault
  readonly expected: Record<string, unknown>
  readonly retryable: boolean
  readonly check?: (e: LLMError) => void
}

const longPrompt = "word ".repeat(400)

const rows: ReadonlyArray<Row> = [
  {
    name: "400 context_length_exceeded → ContextTooLarge with the counts from the message",
    fault: status(400, undefined, openAIErrorBody(400, "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens. Please reduce the length of the messages.", "context_length_exceeded", "messages")),
    expected: { _tag: "ContextTooLarge", model: MODEL, tokenCount: 9001, contextWindow: 8192 },
    retryable: false
  },
  {
    name: "400 with a vLLM-style context message and no code → ContextTooLarge",
    fault: status(400, undefined, openAIErrorBody(400, "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).", null)),
    expected: { _tag: "ContextTooLarge", tokenCount: 5000, contextWindow: 4096 },
    retryable: false
  },
  {
    name: "400 context overflow without counts → ContextTooLarge with an estimated tokenCount",
    fault: status(400, undefined, openAIErrorBody(400, "Input exceeds the context window of this model.", "context_length_exceeded")),
    expected: { _tag: "ContextTooLarge", tokenCount: Math.ceil(longPrompt.length / 4), contextWindow: undefined },
    retryable: false
  },
  {
    name: "other 400 → InvalidRequest with the offending param, not retryable, no fallback",
    fault: status(400, undefined, openAIErrorBody(400, "Invalid value for 'temperature'.", "invalid_value", "temperature")),
    expected: { _tag: "InvalidRequest", model: MODEL, param: "temperature" },
    retryable: false,
    check: (e) => expect(e.shouldFallback).toBe(false)
  },
  {
    name: "422 → InvalidRequest",
    fault: status(422),
    expected: { _tag: "InvalidRequest", model: MODEL },
    retryable: false
  },
  {
    name: "401 → AuthenticationFailed",
    fault: status(401),
    expected: { _tag: "AuthenticationFailed", model: MODEL, status: 401 },
    retryable: false
  },
  {
    name: "403 → AuthenticationFailed",
    fault: status(403),
    expected: { _tag: "AuthenticationFailed", status: 403 },
    retryable: false
  },
  {
    name: "404 → ModelUnavailable, not retryable but falls back",
    fault: status(404),
    expected: { _tag: "ModelUnavailable", model: MODEL, status: 404, shouldRetry: false },
    retryable: false,
    check: (e) => expect(e.shouldFallback).toBe(true)
  },
  {
    name: "408 → TimeoutError",
    fault: status(408),
    expected: { _tag: "TimeoutError", model: MODEL },
    retryable: true
  },
  {
    name: "409 → ModelUnavailable, retryable",
    fault: status(409),
    expected: { _tag: "ModelUnavailable", status: 409 },
    retryable: true
  },
  {
    name: "429 retry-after-ms → RateLimitExceeded with that delay",
    fault: status(429, { "retry-after-ms": "1500", "retry-after": "30" }),
    expected: { _tag: "RateLimitExceeded", model: MODEL, retryAfter: 1500 },
    retryable: true,
    check: (e) => expect(e.retryAfterMs).toBe(1500)
  },
  {
    name: "429 retry-after seconds → RateLimitExceeded in ms",
    fault: status(429, { "retry-after": "7" }),
    expected: { _tag: "RateLimitExceeded", retryAfter: 7000 },
    retryable: true
  },
  {
    name: "429 retry-after HTTP date → RateLimitExceeded until that date",
    fault: status(429, { "retry-after": new Date(Date.now() + 30_000).toUTCString() }),
    expected: { _tag: "RateLimitExceeded" },
    retryable: true,
    check: (e) => {
      expect(e.retryAfterMs).toBeGreaterThan(25_000)
      expect(e.retryAfterMs).toBeLessThanOrEqual(30_000)
    }
  },
  {
    name: "429 without a delay header → RateLimitExceeded with retryAfter 0",
    fault: status(429),
    expected: { _tag: "RateLimitExceeded", retryAfter: 0 },
    retryable: true
  },
  {
    name: "429 insufficient_quota → RateLimitExceeded that is not worth retrying",
    fault: status(429, undefined, openAIErrorBody(429, "You exceeded your current quota.", "insufficient_quota")),
    expected: { _tag: "RateLimitExceeded", shouldRetry: false },
    retryable: false
  },
  {
    name: "500 → ModelUnavailable, retryable",
    fault: status(500),
    expected: { _tag: "ModelUnavailable", model: MODEL, status: 500 },
    retryable: true
  },
  {
    name: "529-style overload → ModelUnavailable",
    fault: status(529, undefined, { error: { type: "overloaded_error", message: "Overloaded" } }),
    expected: { _tag: "ModelUnavailable", status: 529 },
    retryable: true,
    check: (e) => expect(e.message).toContain("Overloaded")
  },
  {
    name: "x-should-retry: false overrides a retryable 503",
    fault: status(503, { "x-should-retry": "false" }),
    expected: { _tag: "ModelUnavailable", status: 503, shouldRetry: false },
    retryable: false
  },
  {
    name: "x-should-retry: true overrides a non-retryable 404",
    fault: status(404, { "x-should-retry": "true" }),
    expected: { _tag: "ModelUnavailable", status: 404, shouldRetry: true },
    retryable: true
  },
  {
    name: "x-should-retry: true overrides a non-retryable 400",
    fault: status(400, { "x-should-retry": "true" }),
    expected: { _tag: "InvalidRequest", shouldRetry: true },
    retryable: true
  },
  {
    name: "connection reset → NetworkError",
    fault: { kind: "reset" },
    expected: { _tag: "NetworkError", model: MODEL },
    retryable: true
  },
  {
    name: "malformed JSON body → NetworkError",
    fault: { kind: "malformed" },
    expected: { _tag: "NetworkError", message: "malformed response body from upstream" },
    retryable: true
  },
  {
    name: "body cut mid-response → NetworkError",
    fault: { kind: "cutAfter", chunks: 0 },
    expected: { _tag: "NetworkError" },
    retryable: true
  }
]

/** Error events inside a 200 stream, as OpenAI-compatible servers send them: [name, SSE text, expected]. */
const streamErrorEvents: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
  [
    "a `data: {error}` payload about the context → ContextTooLarge",
    `data: ${JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.", code: "context_length_exceeded" } })}`,
    { _tag: "ContextTooLarge", model: MODEL, tokenCount: 9001, contextWindow: 8192 }
  ],
  [
    "a `data: {error}` payload → ModelUnavailable, secrets scrubbed",
    `data: ${JSON.stringify({ error: { message: `upstream blew up near ${CANARY}`, type: "server_error" } })}`,
    { _tag: "ModelUnavailable", model: MODEL, message: "stream error: upstream blew up near [REDACTED]" }
  ],
  [
    "an `event: error` → ModelUnavailable",
    `event: error\ndata: ${JSON.stringify({ message: "overloaded", type: "overloaded_error" })}`,
    { _tag: "ModelUnavailable", model: MODEL, message: "stream error: overloaded" }
  ]
]

const sseChunk = (content: string) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`

eachTransport("error table (generate)", (t) => {
  for (const row of rows) {
    it.live(row.name, () =>
      Effect.gen(function*() {
        const { client, fake } = yield* t.setup()
        fake.enqueueFault(row.fault)
        const error = yield* Effect.flip(client.generate(ask(longPrompt)))
        expect(error).toMatchObject(row.expected)
        expect(error.isRetryable).toBe(row.retryable)
        row.check?.(error)
        expectNoSecret(error)
      }))
  }
})

eachTransport("error table: the estimate of a tool conversation", (t) => {
  it.live("an overflow without counts estimates the tokens from what the parts carry (the tool's result)", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.enqueueFault(status(400, undefined, openAIErrorBody(400, "Input exceeds the context window of this model.", "context_length_exceeded")))
      const result = "line of the log\n".repeat(500)
      const error = yield* Effect.flip(client.generate({
        ...ask("Read the log"),
        messages: [
          { role: "user", content: "Read the log" },
          { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "read", params: { path: "app.log" } }] },
          { role: "tool", content: [{ type: "tool-result", id: "c1", name: "read", isFailure: false, result }] }
        ]
      }))
      const chars = "Read the log".length + "read".length + JSON.stringify({ path: "app.log" }).length + result.length
      expect(error).toMatchObject({ _tag: "ContextTooLarge", tokenCount: Math.ceil(chars / 4) })
    }))
})

eachTransport("error table (stream shares it)", (t) => {
  for (const row of rows) {
    it.live(`stream: ${row.name}`, () =>
      Effect.gen(function*() {
        const { client, fake } = yield* t.setup()
        fake.enqueueFault(row.fault)
        const error = yield* Effect.flip(Stream.runCollect(client.stream(ask(longPrompt))))
        expect(error).toMatchObject(row.expected)
        expect(error.isRetryable).toBe(row.retryable)
        expectNoSecret(error)
      }))
  }

  it.live("stream: a malformed SSE event → NetworkError", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.enqueueFault({ kind: "malformed" })
      const error = yield* Effect.flip(Stream.runCollect(client.stream(ask("x"))))
      expect(error).toMatchObject({ _tag: "NetworkError", message: "malformed response body from upstream" })
    }))

  for (const [name, body, expected] of streamErrorEvents) {
    it.live(`stream: ${name}`, () =>
      Effect.gen(function*() {
        const server = yield* loopbackServer(({ res }) => {
          res.writeHead(200, { "content-type": "text/event-stream" })
          res.end(`${sseChunk("partial ")}${body}\n\n`)
        })
        const client = yield* t.makeClient(providerConfig(`${server.url}/v1`))
        const seen: Array<string> = []
        const error = yield* Effect.flip(
          Stream.runForEach(client.stream(ask("x")), (c) => Effect.sync(() => seen.push(c.delta)))
        )
        expect(seen).toEqual(["partial "])
        expect(error).toMatchObject(expected)
        expectNoSecret(error)
      }))
  }
})

describe("error table (SDK adapter)", () => {
  it("an APIError without status (an error event inside a 200 stream) is mapped by the same table", () => {
    const scope = { prefix: "oai/", timeoutMs: 1000, secrets: [CANARY] }
    const input = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] }
    const overflow = toLLMError(new APIError(undefined, { message: "prompt is too long: 210000 tokens > 200000 maximum", code: "context_length_exceeded" }, undefined, undefined), input, scope)
    expect(overflow).toMatchObject({ _tag: "ContextTooLarge", model: MODEL })
    const other = toLLMError(new APIError(undefined, { message: `upstream blew up near ${CANARY}` }, undefined, undefined), input, scope)
    expect(other).toMatchObject({ _tag: "ModelUnavailable", model: MODEL })
    expect(other.message).toContain("[REDACTED]")
    expectNoSecret(other)
  })
})

eachTransport("transport failures", (t) => {
  it.live("connection refused → NetworkError (ECONNREFUSED)", () =>
    Effect.gen(function*() {
      const { fake } = yield* t.setup()
      const url = fake.baseUrl
      yield* Effect.promise(() => fake.close())
      const client = yield* t.makeClient(providerConfig(url))
      const error = yield* Effect.flip(client.generate(ask("x")))
      expect(error).toMatchObject({ _tag: "NetworkError", model: MODEL })
      expect(error.message).toContain("ECONNREFUSED")
      expect(error.isRetryable).toBe(true)
    }))

  it.live("a hung upstream past the SDK timeout → TimeoutError with that timeout", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ client: { timeoutMs: 150 } })
      fake.enqueueFault({ kind: "hang" })
      const error = yield* Effect.flip(client.generate(ask("x")))
      expect(error).toMatchObject({ _tag: "TimeoutError", model: MODEL, timeoutMs: 150 })
      expect(error.isRetryable).toBe(true)
    }))

  it.live("a stream that stalls mid-body past the timeout → TimeoutError", () =>
    Effect.gen(function*() {
      const { client } = yield* t.setup({ fake: { reply: "one two three", chunkIntervalMs: 3_000 }, client: { timeoutMs: 150 } })
      const error = yield* Effect.flip(Stream.runDrain(client.stream(ask("x"))))
      expect(error).toMatchObject({ _tag: "TimeoutError", model: MODEL, timeoutMs: 150 })
    }))
})

eachTransport("secret hygiene", (t) => {
  it.live("an upstream that echoes the key, in a body or a secret header, never leaks it into an error", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.enqueueFault(status(401, undefined, openAIErrorBody(401, `Incorrect API key provided: ${CANARY}.`, "invalid_api_key")))
      const error = yield* Effect.flip(client.generate(ask("x")))
      expect(error).toMatchObject({ _tag: "AuthenticationFailed" })
      expect(error.message).toContain("Incorrect API key provided: [REDACTED]")
      expectNoSecret(error)
      fake.enqueueFault(status(400, undefined, openAIErrorBody(400, `context length exceeded; key=${CANARY}`)))
      const overflow = yield* Effect.flip(client.generate(ask("x")))
      expect(overflow._tag).toBe("ContextTooLarge")
      expectNoSecret(overflow)
    }))
})
