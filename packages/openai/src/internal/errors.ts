/**
 * The one table mapping an upstream's failure to the gateway's `LLMError` union, shared by both
 * transports: the `openai` SDK (`toLLMError`, an adapter over its `APIError` classes) and the
 * direct undici path (`fromErrorBody`, `connectionFailure`, `bodyFailure`). Both reduce a failure
 * to the same inputs — status, response headers, the `error` object of OpenAI's envelope (read
 * the way the SDK reads it) — and `fromStatus` decides. Every row has a test in
 * `test/OpenAIClient.errors.test.ts`, run against both transports.
 *
 * | upstream failure                                | LLMError                                            |
 * |-------------------------------------------------|-----------------------------------------------------|
 * | 400 + context-length code or message            | ContextTooLarge (tokenCount parsed, else estimated) |
 * | other 400, 422, other 4xx                       | InvalidRequest (param kept)                         |
 * | 401, 403                                        | AuthenticationFailed                                |
 * | 404                                             | ModelUnavailable, not retryable                     |
 * | 408, client timeout, undici timeouts            | TimeoutError                                        |
 * | 409                                             | ModelUnavailable, retryable                         |
 * | 429                                             | RateLimitExceeded (retry-after-ms, then retry-after)|
 * | 429 insufficient_quota                          | RateLimitExceeded, not retryable (billing, not load)|
 * | 5xx (incl. 529-style overload)                  | ModelUnavailable                                    |
 * | error event inside a 200 stream                 | ContextTooLarge or ModelUnavailable                 |
 * | connection refused / reset / closed, lost body  | NetworkError                                        |
 * | malformed JSON / SSE body                       | NetworkError                                        |
 * | 3xx (direct path: redirects are not followed)   | NetworkError                                        |
 *
 * A malformed body is a NetworkError rather than ModelUnavailable: the bytes that arrived are not
 * what the upstream meant to send (a truncating proxy, a half-closed socket, a wrong endpoint), i.e.
 * a bad-gateway condition — worth a retry and a fallback, and reported to HTTP callers as 502.
 *
 * `x-should-retry: true|false` (the upstream's own verdict) sets `shouldRetry` on every row that has it.
 * Messages carry only the status and the upstream's error message, with every configured secret
 * scrubbed; never request headers, never the key.
 */
import type { ChatMessage } from "@llm-gateway/core/domain/Domain"
import {
  AuthenticationFailed,
  ContextTooLarge,
  InvalidRequest,
  isLLMError,
  type LLMError,
  ModelUnavailable,
  NetworkError,
  RateLimitExceeded,
  TimeoutError
} from "@llm-gateway/core/domain/LLMError"
import { retryAfterMs as parseRetryAfter, shouldRetryHeader as parseShouldRetry } from "@llm-gateway/core/providers/UpstreamHeaders"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"

/** What the table needs to know about the client that failed; built once per client. */
export interface ErrorScope {
  /** `provider/` — prefixed to the model id to form the error's `model`. */
  readonly prefix: string
  /** The per-request timeout (SDK and undici alike), reported by TimeoutError. */
  readonly timeoutMs: number
  /** Values that must never appear in a message (API key, secret headers). */
  readonly secrets: ReadonlyArray<string>
}

/** What the failed call asked for: used to estimate a token count the upstream did not give. */
export type ErrorInput =
  | { readonly model: string; readonly messages: ReadonlyArray<ChatMessage> }
  | { readonly model: string; readonly input: ReadonlyArray<string> | ReadonlyArray<ReadonlyArray<number>> }

const MAX_MESSAGE = 500

const scrub = (scope: ErrorScope, text: string): string => {
  let out = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text
  for (const secret of scope.secrets) if (out.includes(secret)) out = out.replaceAll(secret, "[REDACTED]")
  return out
}

/** Rough token estimate (4 characters a token) for when the upstream did not count. */
export const estimateTokens = (input: ErrorInput): number => {
  let chars = 0
  if ("messages" in input) for (const m of input.messages) chars += m.content.length
  else for (const s of input.input) chars += typeof s === "string" ? s.length : s.length * 4
  return Math.ceil(chars / 4)
}

export { retryAfterMs as parseRetryAfter, shouldRetryHeader as parseShouldRetry } from "@llm-gateway/core/providers/UpstreamHeaders"

// OpenAI's code, and the wording of vLLM, LM Studio, llama.cpp server and Gemini's compatible endpoint.
const contextMessage =
  /maximum context length|context length|context window|context_length_exceeded|too many tokens|prompt is too long|exceeds the maximum number of tokens|exceed context/i
const tokenCountPatterns = [
  /resulted in (\d+) tokens/i,
  /requested (\d+) tokens/i,
  /input token count(?: \(| of | is |: )?(\d+)/i,
  /prompt (?:has|contains|is) (\d+) tokens/i,
  /keep the first (\d+) tokens/i,
  /\((\d+)\) exceeds/i
]
const windowPatterns = [
  /maximum context length is (\d+)/i,
  /context length of only (\d+)/i,
  /maximum number of tokens allowed \((\d+)\)/i,
  /context window (?:of|is) (\d+)/i
]

const firstNumber = (patterns: ReadonlyArray<RegExp>, text: string): number | undefined => {
  for (const p of patterns) {
    const m = p.exec(text)
    if (m !== null) return Number(m[1])
  }
  return undefined
}

const isContextLength = (code: unknown, message: string): boolean =>
  code === "context_length_exceeded" || code === "string_above_max_length" || contextMessage.test(message)

const contextTooLarge = (model: string, message: string, input: ErrorInput, scope: ErrorScope) =>
  new ContextTooLarge({
    model,
    tokenCount: firstNumber(tokenCountPatterns, message) ?? estimateTokens(input),
    contextWindow: firstNumber(windowPatterns, message),
    message: scrub(scope, message)
  })

/** Response headers as the table reads them: a fetch `Headers`, or a view of undici's plain object. */
export type HeaderSource = { readonly get: (name: string) => string | null | undefined } | null | undefined

const field = (error: unknown, name: string): unknown =>
  typeof error === "object" && error !== null ? (error as Record<string, unknown>)[name] : undefined

/**
 * The text the SDK puts after the status in an `APIError` message (its `makeMessage` rule): the
 * error's message, else the error object as JSON, else the raw body text, else "(no body)".
 */
const sdkText = (error: unknown, raw: string): string => {
  const message = field(error, "message")
  if (message) return typeof message === "string" ? message : JSON.stringify(message)
  if (error) return JSON.stringify(error)
  return raw.length > 0 ? raw : "status code (no body)"
}

/** The upstream's own message: `error` as a string, its `message`, else `fallback`. */
const upstreamText = (error: unknown, fallback: string): string => {
  if (typeof error === "string" && error.length > 0) return error
  const message = field(error, "message")
  if (typeof message === "string" && message.length > 0) return message
  return fallback
}

/**
 * The core of the table: an error answer with a status.
 * `error` is the `error` object of OpenAI's envelope (or the whole JSON body when it has none);
 * `fallback` is what to report when that carries no message.
 */
export const fromStatus = (
  status: number,
  headers: HeaderSource,
  error: unknown,
  fallback: string,
  input: ErrorInput,
  scope: ErrorScope
): LLMError => {
  const model = scope.prefix + input.model
  const code = field(error, "code")
  const shouldRetry = parseShouldRetry(headers)
  const text = upstreamText(error, fallback)
  const message = scrub(scope, `${status} ${text}`)
  if (status === 400 && isContextLength(code, text)) return contextTooLarge(model, text, input, scope)
  if (status === 401 || status === 403) return new AuthenticationFailed({ model, message, status, shouldRetry })
  if (status === 404) return new ModelUnavailable({ model, message, status, shouldRetry: shouldRetry ?? false })
  if (status === 408) return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message, shouldRetry })
  if (status === 409) return new ModelUnavailable({ model, message, status, shouldRetry })
  if (status === 429) {
    // Out of credit is not load: waiting will not help, another provider might.
    const quota = code === "insufficient_quota"
    return new RateLimitExceeded({
      model,
      retryAfter: parseRetryAfter(headers, Date.now()),
      message,
      shouldRetry: shouldRetry ?? (quota ? false : undefined)
    })
  }
  if (status >= 500) return new ModelUnavailable({ model, message, status, shouldRetry })
  if (status < 400) {
    // Only the direct path sees these (fetch follows redirects): a POST cannot be safely replayed.
    return new NetworkError({ model, message: `${status} redirect from upstream: point baseUrl at its final address` })
  }
  const param = field(error, "param")
  return new InvalidRequest({ model, message, param: typeof param === "string" ? param : undefined, shouldRetry })
}

/** An `error` event (or an `{ error }` payload) inside a 200 stream: no status, the body is all there is. */
export const fromStreamError = (error: unknown, fallback: string, input: ErrorInput, scope: ErrorScope): LLMError => {
  const model = scope.prefix + input.model
  const text = upstreamText(error, fallback)
  if (isContextLength(field(error, "code"), text)) return contextTooLarge(model, text, input, scope)
  return new ModelUnavailable({ model, message: scrub(scope, `stream error: ${text}`) })
}

/** The `error` object of a stream event, read as the SDK reads it (`data.error`, or the data itself for `event: error`). */
export const streamEventError = (event: string | undefined, data: unknown): unknown => {
  const error = field(data, "error")
  return event === "error" ? (error ?? data) : error
}

/** The stream event's error mapped by the table (see `streamEventError`). */
export const fromStreamEvent = (error: unknown, input: ErrorInput, scope: ErrorScope): LLMError =>
  fromStreamError(error, sdkText(error, ""), input, scope)

/** An error answer read off the wire (direct path): the raw body text, parsed as the SDK parses it. */
export const fromErrorBody = (
  status: number,
  headers: HeaderSource,
  text: string,
  input: ErrorInput,
  scope: ErrorScope
): LLMError => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  // The SDK treats a JSON object without `error` as the error itself (vLLM's `{ detail }`, `{ message }`).
  const error = typeof json === "object" && json !== null ? (field(json, "error") ?? json) : undefined
  return fromStatus(status, headers, error, sdkText(error, json ? "" : text), input, scope)
}

/** The first `code` in an error's cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET`, …). */
const causeCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string" && code.length > 0) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const undiciTimeouts = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT"])

/** No response at all: refused, reset, closed socket, DNS; connect and headers timeouts. */
export const connectionFailure = (cause: unknown, input: ErrorInput, scope: ErrorScope): LLMError => {
  const model = scope.prefix + input.model
  const code = causeCode(cause)
  if (code !== undefined && undiciTimeouts.has(code)) {
    return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message: `request timed out (${code})` })
  }
  return new NetworkError({ model, message: `connection failed${code ? ` (${code})` : ""}` })
}

/** A failure while the body was read: malformed JSON / SSE, a connection lost mid-body, a body timeout. */
export const bodyFailure = (error: unknown, input: ErrorInput, scope: ErrorScope): LLMError => {
  if (isLLMError(error)) return error
  const model = scope.prefix + input.model
  if (error instanceof SyntaxError) {
    return new NetworkError({ model, message: "malformed response body from upstream" })
  }
  // Raw transport failures that surface while a body is read (undici `TypeError: terminated`, `SocketError`).
  const code = causeCode(error)
  if (code !== undefined && undiciTimeouts.has(code)) {
    return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message: `response body timed out (${code})` })
  }
  const name = error instanceof Error ? error.message : "unknown error"
  return new NetworkError({ model, message: scrub(scope, `connection lost while reading the response: ${name}${code ? ` (${code})` : ""}`) })
}

/** The SDK adapter: maps anything the `openai` SDK (or the stream reader) throws to an `LLMError`. */
export const toLLMError = (error: unknown, input: ErrorInput, scope: ErrorScope): LLMError => {
  if (isLLMError(error)) return error
  if (error instanceof APIConnectionTimeoutError) {
    return new TimeoutError({ model: scope.prefix + input.model, timeoutMs: scope.timeoutMs, message: "request timed out" })
  }
  if (error instanceof APIUserAbortError) return new NetworkError({ model: scope.prefix + input.model, message: "request aborted" })
  if (error instanceof APIConnectionError) return connectionFailure(error.cause, input, scope)
  if (error instanceof APIError) {
    // A body without OpenAI's envelope: the SDK's message is "<status> <text>" (or "… (no body)").
    const fallback = error.message.replace(/^\d{3} /, "")
    return error.status !== undefined
      ? fromStatus(error.status, error.headers, error.error, fallback, input, scope)
      : fromStreamError(error.error, fallback, input, scope)
  }
  return bodyFailure(error, input, scope)
}
