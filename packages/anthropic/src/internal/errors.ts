/**
 * The one table from `@anthropic-ai/sdk` failures to the gateway's `LLMError`.
 *
 * Every failure is first reduced to Anthropic's own error `type` (from the HTTP status, or for
 * an `event: error` inside a stream, from the event body), then one row per type builds the
 * tagged error. The router only ever asks the resulting error (`isRetryable`,
 * `shouldFallback`, `retryAfterMs`), so this is the only place that knows status codes.
 *
 * Messages come from the upstream's error body, never from request headers; any configured
 * secret that an upstream (or a proxy in front of it) echoes back is scrubbed anyway.
 */
import {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError
} from "@anthropic-ai/sdk"
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
import { retryAfterMs, shouldRetryHeader } from "@llm-gateway/core/providers/UpstreamHeaders"
import { StreamTruncated } from "./stream.ts"

export interface ErrorContext {
  /** `provider/model`, as every LLMError names its model. */
  readonly model: string
  /** The client's request timeout, reported by TimeoutError. */
  readonly timeoutMs: number
  /** The model's configured context window, when the upstream does not say. */
  readonly contextWindow?: number | undefined
  /** Values that must never appear in an error (API key, secret header values). */
  readonly secrets: ReadonlyArray<string>
}

type Kind =
  | "invalid_request_error"
  | "request_too_large"
  | "authentication_error"
  | "permission_error"
  | "billing_error"
  | "not_found_error"
  | "timeout_error"
  | "conflict_error"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error"

/** What a row needs to build its error. */
interface Failure {
  readonly kind: Kind
  readonly status: number | undefined
  readonly message: string
  /** The `x-should-retry` verdict, when the upstream gave one. */
  readonly shouldRetry: boolean | undefined
  readonly retryAfter: number
}

const kindOfStatus = (status: number): Kind => {
  switch (status) {
    case 401:
      return "authentication_error"
    case 402:
      return "billing_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 408:
      return "timeout_error"
    case 409:
      return "conflict_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

const knownKinds: ReadonlySet<string> = new Set<Kind>([
  "invalid_request_error",
  "request_too_large",
  "authentication_error",
  "permission_error",
  "billing_error",
  "not_found_error",
  "timeout_error",
  "conflict_error",
  "rate_limit_error",
  "api_error",
  "overloaded_error"
])

/** The status a mid-stream error event would have had as an HTTP answer (for `status` fields). */
const statusOfKind: Partial<Record<Kind, number>> = { overloaded_error: 529, api_error: 500 }

/** `prompt is too long: 210000 tokens > 200000 maximum` and `input length and max_tokens exceed context limit: 188240 + 21333 > 200000`. */
const contextTooLarge = (ctx: ErrorContext, f: Failure): ContextTooLarge | undefined => {
  const prompt = /prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)/i.exec(f.message)
  if (prompt) {
    return new ContextTooLarge({
      model: ctx.model,
      tokenCount: Number(prompt[1]),
      contextWindow: Number(prompt[2]),
      message: f.message
    })
  }
  const sum = /exceed context limit:\s*(\d+)\s*\+\s*(\d+)\s*>\s*(\d+)/i.exec(f.message)
  if (sum) {
    return new ContextTooLarge({
      model: ctx.model,
      tokenCount: Number(sum[1]) + Number(sum[2]),
      contextWindow: Number(sum[3]),
      message: f.message
    })
  }
  if (/prompt is too long/i.test(f.message)) {
    return new ContextTooLarge({ model: ctx.model, tokenCount: 0, contextWindow: ctx.contextWindow, message: f.message })
  }
  return undefined
}

const unavailable = (ctx: ErrorContext, f: Failure, defaultRetry?: boolean) =>
  new ModelUnavailable({
    model: ctx.model,
    message: f.message,
    status: f.status ?? statusOfKind[f.kind],
    shouldRetry: f.shouldRetry ?? defaultRetry
  })

const authFailed = (ctx: ErrorContext, f: Failure) =>
  new AuthenticationFailed({ model: ctx.model, message: f.message, status: f.status, shouldRetry: f.shouldRetry })

/** THE table: Anthropic error type → LLMError. */
const rows: Record<Kind, (ctx: ErrorContext, f: Failure) => LLMError> = {
  invalid_request_error: (ctx, f) =>
    contextTooLarge(ctx, f) ??
      new InvalidRequest({ model: ctx.model, message: f.message, shouldRetry: f.shouldRetry }),
  // The body is over Anthropic's byte limit: no other model will take it either.
  request_too_large: (ctx, f) => new InvalidRequest({ model: ctx.model, message: f.message, shouldRetry: f.shouldRetry }),
  authentication_error: authFailed,
  permission_error: authFailed,
  // The account cannot pay: like a bad key, another provider may still answer.
  billing_error: authFailed,
  // Retrying an unknown model is pointless; falling back to another one is not.
  not_found_error: (ctx, f) => unavailable(ctx, f, false),
  timeout_error: (ctx, f) =>
    new TimeoutError({ model: ctx.model, timeoutMs: ctx.timeoutMs, message: f.message, shouldRetry: f.shouldRetry }),
  conflict_error: (ctx, f) => unavailable(ctx, f, true),
  rate_limit_error: (ctx, f) =>
    new RateLimitExceeded({
      model: ctx.model,
      retryAfter: f.retryAfter,
      message: f.message,
      shouldRetry: f.shouldRetry
    }),
  api_error: (ctx, f) => unavailable(ctx, f),
  overloaded_error: (ctx, f) => unavailable(ctx, f)
}

export { retryAfterMs } from "@llm-gateway/core/providers/UpstreamHeaders"

/** The first `code` in an error's cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET`): safe to show. */
const causeCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const MAX_MESSAGE = 500

/** Removes configured secrets and bounds the length: messages end up in logs and responses. */
export const scrub = (message: string, secrets: ReadonlyArray<string>): string => {
  let out = message
  for (const secret of secrets) {
    // Short values (a header like `x-team: blue`) are not secrets worth mangling messages for.
    if (secret.length >= 8) out = out.split(secret).join("[redacted]")
  }
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out
}

const apiFailure = (ctx: ErrorContext, error: APIError): Failure => {
  const status = error.status
  const type = error.type ?? undefined
  const kind: Kind = status !== undefined
    ? kindOfStatus(status)
    : type !== undefined && knownKinds.has(type)
    ? (type as Kind)
    : "api_error"
  const detail = error.apiMessage ?? (status !== undefined ? `status ${status}` : "error event")
  const where = status !== undefined ? `${status}` : "mid-stream"
  return {
    kind,
    status,
    message: scrub(`${where} ${type ?? kind}: ${detail}`, ctx.secrets),
    // A mid-stream event has the 200's headers: they say nothing about this error.
    shouldRetry: status !== undefined ? shouldRetryHeader(error.headers) : undefined,
    retryAfter: status !== undefined ? retryAfterMs(error.headers) : 0
  }
}

/** Maps anything the SDK (or the stream reader) throws to an LLMError. */
export const toLLMError = (ctx: ErrorContext, error: unknown): LLMError => {
  if (isLLMError(error)) return error
  if (error instanceof APIConnectionTimeoutError) {
    return new TimeoutError({ model: ctx.model, timeoutMs: ctx.timeoutMs, message: "request timed out" })
  }
  if (error instanceof APIUserAbortError) {
    return new NetworkError({ model: ctx.model, message: "request aborted" })
  }
  if (error instanceof APIConnectionError) {
    const code = causeCode(error.cause)
    return new NetworkError({ model: ctx.model, message: `connection failed${code ? ` (${code})` : ""}` })
  }
  if (error instanceof APIError) {
    const failure = apiFailure(ctx, error)
    return rows[failure.kind](ctx, failure)
  }
  if (error instanceof StreamTruncated) {
    return new NetworkError({ model: ctx.model, message: "stream ended before message_stop" })
  }
  if (error instanceof SyntaxError) {
    return new ModelUnavailable({ model: ctx.model, message: "malformed response from upstream" })
  }
  // The SDK's own checks before sending (e.g. "streaming is required for long requests").
  if (error instanceof AnthropicError) {
    return new InvalidRequest({ model: ctx.model, message: scrub(error.message, ctx.secrets) })
  }
  const code = causeCode(error)
  if (code !== undefined || (error instanceof TypeError && /terminated|fetch failed|socket/i.test(error.message))) {
    // undici reports a body cut mid-read as `TypeError: terminated` (cause: UND_ERR_SOCKET).
    return new NetworkError({ model: ctx.model, message: `connection lost${code ? ` (${code})` : ""}` })
  }
  if (error instanceof Error && error.name === "AbortError") {
    return new NetworkError({ model: ctx.model, message: "request aborted" })
  }
  const name = error instanceof Error ? error.name : typeof error
  return new ModelUnavailable({ model: ctx.model, message: `unexpected upstream failure (${name})` })
}
