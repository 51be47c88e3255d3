/**
 * OpenAI's wire format over core's upstream-error kit (`@llm-gateway/core/providers/UpstreamErrors`),
 * shared by both transports: the `openai` SDK (`toLLMError`, an adapter over its `APIError`
 * classes) and the direct undici path (`fromErrorBody`, `connectionFailure`, `bodyFailure`). Both
 * reduce a failure to the same inputs — status, response headers, the `error` object of OpenAI's
 * envelope (read the way the SDK reads it). What is OpenAI's own: that envelope, the
 * context-length wording of OpenAI / vLLM / LM Studio / llama.cpp server / Gemini,
 * `insufficient_quota`, and a malformed body as NetworkError. Every row has a test in
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
import { ContextTooLarge, isLLMError, type LLMError, ModelUnavailable, NetworkError, RateLimitExceeded } from "@llm-gateway/core/domain/LLMError"
import { tokensOfChars } from "@llm-gateway/core/accounting/TokenEstimator"
import { estimateContentTokens } from "@llm-gateway/core/accounting/Pricing"
import * as Upstream from "@llm-gateway/core/providers/UpstreamErrors"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"

export type { HeaderSource } from "@llm-gateway/core/providers/UpstreamErrors"

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

const context = (input: ErrorInput, scope: ErrorScope): Upstream.UpstreamContext => ({
  model: scope.prefix + input.model,
  timeoutMs: scope.timeoutMs,
  secrets: scope.secrets
})

/** Core's estimate over what the call asked for (token ids count as 4 characters each; parts as the router counts them). */
export const estimateTokens = (input: ErrorInput): number => {
  if ("messages" in input) return estimateContentTokens(input.messages)
  let chars = 0
  for (const s of input.input) chars += typeof s === "string" ? s.length : s.length * 4
  return tokensOfChars(chars)
}

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

/** The context-length hook: OpenAI's codes, else the wording. */
const contextTooLarge = (input: ErrorInput, scope: ErrorScope) => (text: string, code: unknown): ContextTooLarge | undefined =>
  code === "context_length_exceeded" || code === "string_above_max_length" || contextMessage.test(text)
    ? new ContextTooLarge({
      model: scope.prefix + input.model,
      tokenCount: Upstream.firstNumber(tokenCountPatterns, text) ?? estimateTokens(input),
      contextWindow: Upstream.firstNumber(windowPatterns, text),
      message: Upstream.scrub(text, scope.secrets)
    })
    : undefined

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
 * An error answer with a status. `error` is the `error` object of OpenAI's envelope (or the
 * whole JSON body when it has none); `fallback` is what to report when that carries no message.
 */
export const fromStatus = (
  status: number,
  headers: Upstream.HeaderSource,
  error: unknown,
  fallback: string,
  input: ErrorInput,
  scope: ErrorScope
): LLMError => {
  const code = field(error, "code")
  const text = upstreamText(error, fallback)
  const param = field(error, "param")
  return Upstream.fromStatus(
    status,
    { message: `${status} ${text}`, text, headers, code, param: typeof param === "string" ? param : undefined },
    context(input, scope),
    {
      contextTooLarge: contextTooLarge(input, scope),
      // Out of credit is not load: waiting will not help, another provider might.
      override: (s, f, shouldRetry) =>
        s === 429 && code === "insufficient_quota"
          ? new RateLimitExceeded({
            model: scope.prefix + input.model,
            retryAfter: Upstream.retryAfterMs(headers),
            message: Upstream.scrub(f.message, scope.secrets),
            shouldRetry: shouldRetry ?? false
          })
          : undefined
    }
  )
}

/** An `error` event (or an `{ error }` payload) inside a 200 stream: no status, the body is all there is. */
export const fromStreamError = (error: unknown, fallback: string, input: ErrorInput, scope: ErrorScope): LLMError => {
  const text = upstreamText(error, fallback)
  return contextTooLarge(input, scope)(text, field(error, "code")) ??
    new ModelUnavailable({ model: scope.prefix + input.model, message: Upstream.scrub(`stream error: ${text}`, scope.secrets) })
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
  headers: Upstream.HeaderSource,
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

/** No response at all: refused, reset, closed socket, DNS; connect and headers timeouts. */
export const connectionFailure = (cause: unknown, input: ErrorInput, scope: ErrorScope): LLMError =>
  Upstream.transportFailure(cause, context(input, scope))

/**
 * A failure while the body was read: a connection lost mid-body, a body timeout, or malformed
 * JSON / SSE — a NetworkError here (502 to HTTP callers): the bytes that arrived are not what the
 * upstream meant to send (a truncating proxy, a half-closed socket, a wrong endpoint).
 */
export const bodyFailure = (error: unknown, input: ErrorInput, scope: ErrorScope): LLMError => {
  if (isLLMError(error)) return error
  if (error instanceof SyntaxError) {
    return new NetworkError({ model: scope.prefix + input.model, message: "malformed response body from upstream" })
  }
  const name = error instanceof Error ? error.message : "unknown error"
  return Upstream.transportFailure(error, context(input, scope), `connection lost while reading the response: ${name}`)
}

/** The SDK adapter: maps anything the `openai` SDK (or the stream reader) throws to an `LLMError`. */
export const toLLMError = (error: unknown, input: ErrorInput, scope: ErrorScope): LLMError => {
  if (isLLMError(error)) return error
  if (error instanceof APIConnectionTimeoutError) return Upstream.timedOut(context(input, scope))
  if (error instanceof APIUserAbortError) return Upstream.aborted(context(input, scope))
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
