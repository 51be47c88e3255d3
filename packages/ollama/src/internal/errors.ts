/**
 * The one table that turns what the `ollama` SDK throws into an `LLMError`.
 *
 * What the SDK throws (ollama 0.6):
 * - `ResponseError` (not exported; recognised by `name` and `status_code`) for any non-2xx answer,
 *   with Ollama's `{"error":"..."}` text as message. It drops the response headers, so the client's
 *   fetch wrapper captures them (`retry-after`, `x-should-retry`) and hands them in here.
 * - `TypeError` from fetch for refused / reset / cut connections (`cause.code` tells which).
 * - a plain `Error` with the upstream's text for an in-band `{"error":...}` line in a stream, and
 *   `Error("Did not receive done or success response in stream.")` when a stream ends early.
 * - `SyntaxError` when a 200 body is not JSON.
 * - `AbortError` / `TimeoutError` DOMExceptions when a signal aborts the request.
 *
 * The status rows follow the rules shared by every provider package:
 * | upstream                              | LLMError                                   |
 * |---------------------------------------|--------------------------------------------|
 * | 400/413/422 naming the context length | ContextTooLarge                            |
 * | other 400 / 413 / 422 (and other 4xx) | InvalidRequest                             |
 * | 401 / 403                             | AuthenticationFailed                       |
 * | 404 (model not found, not pulled)     | ModelUnavailable, shouldRetry false        |
 * | 408                                   | TimeoutError                               |
 * | 409                                   | ModelUnavailable (retryable)               |
 * | 429                                   | RateLimitExceeded (retry-after-ms / retry-after, else 0) |
 * | 5xx                                   | ModelUnavailable (retryable)               |
 * | refused / reset / cut stream          | NetworkError                               |
 * | connect / header / body timeout       | TimeoutError                               |
 * `x-should-retry: true|false` overrides the retryability of every row that has `shouldRetry`.
 */
import {
  AuthenticationFailed,
  ContextTooLarge,
  InvalidRequest,
  type LLMError,
  ModelUnavailable,
  NetworkError,
  RateLimitExceeded,
  TimeoutError
} from "@llm-gateway/core/domain/LLMError"
import { retryAfterMs, shouldRetryHeader } from "@llm-gateway/core/providers/UpstreamHeaders"

export interface ErrorContext {
  /** `provider/model`, as every LLMError names the model. */
  readonly model: string
  /** The client's own timeout, reported by TimeoutError. */
  readonly timeoutMs: number
  /** Headers of the failed HTTP answer, when the fetch wrapper saw one. */
  readonly headers?: Headers | undefined
  /** Tokens the request needs by estimate, for ContextTooLarge when the upstream gives no count. */
  readonly estimatedTokens?: number | undefined
}

interface Failure {
  readonly status: number
  readonly message: string
  readonly ctx: ErrorContext
  readonly shouldRetry: boolean | undefined
}

const CONTEXT_PATTERN =
  /context (length|window|size)|context_length|maximum context|num_ctx|(prompt|input) (is )?too long|too many tokens|exceeds? (the )?token limit/i

export const isContextLengthMessage = (message: string): boolean => CONTEXT_PATTERN.test(message)

/** Token counts an upstream may put in its message ("... 5000 tokens ... context length of 4096"). */
const parseContext = (message: string, ctx: ErrorContext) => {
  // "exceeded ... by 12 tokens" is the overflow, not the size of the request
  const tokens = /(?<!by )\b(\d+)\s*(?:input\s+)?tokens/i.exec(message)
  const window = /(?:context (?:length|window|size)|num_ctx)(?:\s+(?:is|of))?\s*[=:]?\s*(\d+)/i.exec(message)
  const tokenCount = tokens ? Number(tokens[1]) : (ctx.estimatedTokens ?? 0)
  return {
    tokenCount,
    ...(window && Number(window[1]) !== tokenCount ? { contextWindow: Number(window[1]) } : {})
  }
}

export { retryAfterMs } from "@llm-gateway/core/providers/UpstreamHeaders"

const withRetry = (shouldRetry: boolean | undefined) => (shouldRetry === undefined ? {} : { shouldRetry })

/** The status table: the first matching row wins. */
const statusTable: ReadonlyArray<readonly [(f: Failure) => boolean, (f: Failure) => LLMError]> = [
  [
    (f) => (f.status === 400 || f.status === 413 || f.status === 422) && isContextLengthMessage(f.message),
    (f) => new ContextTooLarge({ model: f.ctx.model, message: f.message, ...parseContext(f.message, f.ctx) })
  ],
  [
    (f) => f.status === 401 || f.status === 403,
    (f) => new AuthenticationFailed({ model: f.ctx.model, message: f.message, status: f.status, ...withRetry(f.shouldRetry) })
  ],
  [
    // Ollama: `model "x" not found, try pulling it first` — retrying will not pull it.
    (f) => f.status === 404,
    (f) => new ModelUnavailable({ model: f.ctx.model, message: f.message, status: 404, shouldRetry: f.shouldRetry ?? false })
  ],
  [
    (f) => f.status === 408,
    (f) => new TimeoutError({ model: f.ctx.model, timeoutMs: f.ctx.timeoutMs, message: f.message, ...withRetry(f.shouldRetry) })
  ],
  [
    (f) => f.status === 409,
    (f) => new ModelUnavailable({ model: f.ctx.model, message: f.message, status: 409, ...withRetry(f.shouldRetry) })
  ],
  [
    (f) => f.status === 429,
    (f) =>
      new RateLimitExceeded({
        model: f.ctx.model,
        retryAfter: retryAfterMs(f.ctx.headers),
        message: f.message,
        ...withRetry(f.shouldRetry)
      })
  ],
  [
    (f) => f.status >= 400 && f.status < 500,
    (f) => new InvalidRequest({ model: f.ctx.model, message: f.message, ...withRetry(f.shouldRetry) })
  ],
  [
    // 5xx and anything unexpected: the upstream is not serving this model right now
    (_) => true,
    (f) => new ModelUnavailable({ model: f.ctx.model, message: f.message, status: f.status, ...withRetry(f.shouldRetry) })
  ]
]

export const fromStatus = (status: number, message: string, ctx: ErrorContext): LLMError => {
  const failure: Failure = { status, message, ctx, shouldRetry: shouldRetryHeader(ctx.headers) }
  const row = statusTable.find(([matches]) => matches(failure)) ?? statusTable[statusTable.length - 1]
  return row[1](failure)
}

const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT"
])

const causeCode = (error: Error): string | undefined => {
  const cause = (error as { cause?: unknown }).cause
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") return cause.code
  return undefined
}

const STREAM_ENDED_EARLY = "Did not receive done or success response in stream."

/** Maps anything the SDK (or its fetch) throws; never throws itself. */
export const toLLMError = (error: unknown, ctx: ErrorContext): LLMError => {
  if (!(error instanceof Error)) {
    return new ModelUnavailable({ model: ctx.model, message: `unexpected failure: ${String(error)}` })
  }
  const status = (error as { status_code?: unknown }).status_code
  if (error.name === "ResponseError" && typeof status === "number") {
    return fromStatus(status, error.message, ctx)
  }
  if (error.name === "TimeoutError") {
    return new TimeoutError({ model: ctx.model, timeoutMs: ctx.timeoutMs, message: error.message })
  }
  if (error.name === "AbortError") {
    return new NetworkError({ model: ctx.model, message: "request aborted" })
  }
  if (error instanceof TypeError) {
    const code = causeCode(error)
    if (code !== undefined && TIMEOUT_CODES.has(code)) {
      return new TimeoutError({ model: ctx.model, timeoutMs: ctx.timeoutMs, message: `${error.message} (${code})` })
    }
    return new NetworkError({ model: ctx.model, message: code ? `${error.message} (${code})` : error.message })
  }
  if (error instanceof SyntaxError) {
    return new ModelUnavailable({ model: ctx.model, message: `malformed response from upstream: ${error.message}` })
  }
  if (error.message === STREAM_ENDED_EARLY) {
    return new NetworkError({ model: ctx.model, message: "stream ended before the final (done) message" })
  }
  // An in-band `{"error": "..."}` line of a stream: Ollama sends it with a 200, so only the text tells.
  if (isContextLengthMessage(error.message)) {
    return new ContextTooLarge({ model: ctx.model, message: error.message, ...parseContext(error.message, ctx) })
  }
  if (/not found/i.test(error.message)) {
    return new ModelUnavailable({ model: ctx.model, message: error.message, shouldRetry: false })
  }
  return new ModelUnavailable({ model: ctx.model, message: error.message })
}
