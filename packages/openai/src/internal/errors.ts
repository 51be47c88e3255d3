/**
 * The one table mapping what the `openai` SDK throws to the gateway's `LLMError` union.
 * Every row has a test in `test/OpenAIClient.errors.test.ts`.
 *
 * | SDK error                                       | LLMError                                            |
 * |-------------------------------------------------|-----------------------------------------------------|
 * | 400 + context-length code or message            | ContextTooLarge (tokenCount parsed, else estimated) |
 * | other 400, 422, other 4xx                       | InvalidRequest (param kept)                         |
 * | 401, 403                                        | AuthenticationFailed                                |
 * | 404                                             | ModelUnavailable, not retryable                     |
 * | 408, APIConnectionTimeoutError, undici timeouts | TimeoutError                                        |
 * | 409                                             | ModelUnavailable, retryable                         |
 * | 429                                             | RateLimitExceeded (retry-after-ms, then retry-after)|
 * | 429 insufficient_quota                          | RateLimitExceeded, not retryable (billing, not load)|
 * | 5xx (incl. 529-style overload)                  | ModelUnavailable                                    |
 * | error event inside a 200 stream                 | ContextTooLarge or ModelUnavailable                 |
 * | APIConnectionError (refused, reset), lost body  | NetworkError                                        |
 * | malformed JSON / SSE body                       | NetworkError                                        |
 *
 * A malformed body is a NetworkError rather than ModelUnavailable: the bytes that arrived are not
 * what the upstream meant to send (a truncating proxy, a half-closed socket, a wrong endpoint), i.e.
 * a bad-gateway condition — worth a retry and a fallback, and reported to HTTP callers as 502.
 *
 * `x-should-retry: true|false` (the upstream's own verdict) sets `shouldRetry` on every row that has it.
 * Messages carry only the status and the upstream's error message, with every configured secret
 * scrubbed; never request headers, never the key.
 */
import type { ChatMessage } from "@llm-gateway/core/Domain"
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
} from "@llm-gateway/core/LLMError"
import { retryAfterMs as parseRetryAfter, shouldRetryHeader as parseShouldRetry } from "@llm-gateway/core/UpstreamHeaders"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"

/** What the table needs to know about the client that failed; built once per client. */
export interface ErrorScope {
  /** `provider/` — prefixed to the model id to form the error's `model`. */
  readonly prefix: string
  /** The SDK's per-request timeout, reported by TimeoutError. */
  readonly timeoutMs: number
  /** Values that must never appear in a message (API key, secret headers). */
  readonly secrets: ReadonlyArray<string>
}

/** What the failed call asked for: used to estimate a token count the upstream did not give. */
export type ErrorInput =
  | { readonly model: string; readonly messages: ReadonlyArray<ChatMessage> }
  | { readonly model: string; readonly input: ReadonlyArray<string> }

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
  else for (const s of input.input) chars += s.length
  return Math.ceil(chars / 4)
}

export { retryAfterMs as parseRetryAfter, shouldRetryHeader as parseShouldRetry } from "@llm-gateway/core/UpstreamHeaders"

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

const isContextLength = (code: string | null | undefined, message: string): boolean =>
  code === "context_length_exceeded" || code === "string_above_max_length" || contextMessage.test(message)

const contextTooLarge = (model: string, message: string, input: ErrorInput, scope: ErrorScope) =>
  new ContextTooLarge({
    model,
    tokenCount: firstNumber(tokenCountPatterns, message) ?? estimateTokens(input),
    contextWindow: firstNumber(windowPatterns, message),
    message: scrub(scope, message)
  })

/** The upstream's own message out of an SDK error body (`{ message }`, or whatever it sent). */
const upstreamMessage = (error: APIError): string => {
  const body: unknown = error.error
  if (typeof body === "string" && body.length > 0) return body
  if (typeof body === "object" && body !== null) {
    const message = (body as { message?: unknown }).message
    if (typeof message === "string" && message.length > 0) return message
  }
  // A body without OpenAI's envelope: the SDK's message is "<status> <text>" (or "… (no body)").
  return error.message.replace(/^\d{3} /, "")
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

const fromStatus = (error: APIError, status: number, model: string, input: ErrorInput, scope: ErrorScope): LLMError => {
  const headers = error.headers
  const shouldRetry = parseShouldRetry(headers)
  const text = upstreamMessage(error)
  const message = scrub(scope, `${status} ${text}`)
  if (status === 400 && isContextLength(error.code, text)) return contextTooLarge(model, text, input, scope)
  if (status === 401 || status === 403) return new AuthenticationFailed({ model, message, status, shouldRetry })
  if (status === 404) return new ModelUnavailable({ model, message, status, shouldRetry: shouldRetry ?? false })
  if (status === 408) return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message, shouldRetry })
  if (status === 409) return new ModelUnavailable({ model, message, status, shouldRetry })
  if (status === 429) {
    // Out of credit is not load: waiting will not help, another provider might.
    const quota = error.code === "insufficient_quota"
    return new RateLimitExceeded({
      model,
      retryAfter: parseRetryAfter(headers, Date.now()),
      message,
      shouldRetry: shouldRetry ?? (quota ? false : undefined)
    })
  }
  if (status >= 500) return new ModelUnavailable({ model, message, status, shouldRetry })
  return new InvalidRequest({ model, message, param: error.param ?? undefined, shouldRetry })
}

/** Maps anything the SDK (or the stream reader) throws to an `LLMError`. */
export const toLLMError = (error: unknown, input: ErrorInput, scope: ErrorScope): LLMError => {
  if (isLLMError(error)) return error
  const model = scope.prefix + input.model
  if (error instanceof APIConnectionTimeoutError) {
    return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message: "request timed out" })
  }
  if (error instanceof APIUserAbortError) return new NetworkError({ model, message: "request aborted" })
  if (error instanceof APIConnectionError) {
    const code = causeCode(error.cause)
    if (code !== undefined && undiciTimeouts.has(code)) {
      return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message: `request timed out (${code})` })
    }
    return new NetworkError({ model, message: `connection failed${code ? ` (${code})` : ""}` })
  }
  if (error instanceof APIError) {
    if (error.status !== undefined) return fromStatus(error, error.status, model, input, scope)
    // An `error` event inside a 200 SSE stream: no status, the body is all we have.
    const text = upstreamMessage(error)
    if (isContextLength(error.code, text)) return contextTooLarge(model, text, input, scope)
    return new ModelUnavailable({ model, message: scrub(scope, `stream error: ${text}`) })
  }
  if (error instanceof SyntaxError) {
    return new NetworkError({ model, message: "malformed response body from upstream" })
  }
  // Raw transport failures that surface while a body is read (undici `TypeError: terminated`).
  const code = causeCode(error)
  if (code !== undefined && undiciTimeouts.has(code)) {
    return new TimeoutError({ model, timeoutMs: scope.timeoutMs, message: `response body timed out (${code})` })
  }
  const name = error instanceof Error ? error.message : "unknown error"
  return new NetworkError({ model, message: scrub(scope, `connection lost while reading the response: ${name}${code ? ` (${code})` : ""}`) })
}
