/**
 * The upstream-error kit every provider maps its failures with: one status table, one reading of
 * `retry-after` / `x-should-retry`, one classification of transport failures, one secret
 * scrubber. A provider's own error file keeps only what is really its own: how to read its error
 * bodies, its extra codes, and how its context-length message reads (`contextTooLarge` hook).
 *
 * | upstream failure                                  | LLMError                                         |
 * |---------------------------------------------------|--------------------------------------------------|
 * | 400 / 413 / 422 the provider's hook calls context | ContextTooLarge                                  |
 * | other 4xx (400, 413, 422, …)                      | InvalidRequest (param kept)                      |
 * | 401, 403                                          | AuthenticationFailed                             |
 * | 404                                               | ModelUnavailable, not retryable (will not appear)|
 * | 408                                               | TimeoutError                                     |
 * | 409                                               | ModelUnavailable, retryable                      |
 * | 429                                               | RateLimitExceeded (retry-after-ms, retry-after)  |
 * | 5xx                                               | ModelUnavailable                                 |
 * | 3xx (redirects are not followed)                  | NetworkError                                     |
 * | connect / headers / body timeout codes            | TimeoutError                                     |
 * | refused, reset, socket closed, DNS, cut body      | NetworkError                                     |
 *
 * `x-should-retry: true|false` (the upstream's own verdict) sets `shouldRetry` on every row that
 * has it. Messages carry only the status and the upstream's text, bounded, with every configured
 * secret replaced: upstreams (and proxies) echo keys back in their error bodies.
 */
import {
  AuthenticationFailed,
  type ContextTooLarge,
  InvalidRequest,
  type LLMError,
  ModelUnavailable,
  NetworkError,
  RateLimitExceeded,
  TimeoutError
} from "../domain/LLMError.ts"
import { retryAfterMs, shouldRetryHeader } from "./UpstreamHeaders.ts"

export { retryAfterMs, shouldRetryHeader } from "./UpstreamHeaders.ts"

/** Response headers as the kit reads them: a fetch `Headers`, or any `get`-able view. */
export type HeaderSource = { readonly get: (name: string) => string | null | undefined } | null | undefined

/** Who failed: what every error of one call shares. */
export interface UpstreamContext {
  /** `provider/model`, as every LLMError names its model. */
  readonly model: string
  /** The client's request timeout, reported by TimeoutError. */
  readonly timeoutMs: number
  /** Values that must never appear in a message (API key, secret header values). */
  readonly secrets?: ReadonlyArray<string> | undefined
}

const MAX_MESSAGE = 500
/** Shorter values (a header like `x-team: blue`) are not worth mangling messages for. */
const MIN_SECRET = 4

/** Every configured secret replaced, the length bounded: messages end up in logs and responses. */
export const scrub = (text: string, secrets: ReadonlyArray<string> = []): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET && out.includes(secret)) out = out.replaceAll(secret, "[REDACTED]")
  }
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out
}

/** What a status row needs besides the status. */
export interface StatusFailure {
  /** The message to report (already prefixed as the provider likes, e.g. `429 rate limited`); scrubbed here. */
  readonly message: string
  /** The upstream's own text, for context-length detection (default: `message`). */
  readonly text?: string | undefined
  readonly headers?: HeaderSource
  /** The upstream's error code, handed to the `contextTooLarge` hook. */
  readonly code?: unknown
  /** The offending field, when the upstream names it. */
  readonly param?: string | undefined
}

export interface StatusHooks {
  /**
   * The provider's context-length detection on a 400 / 413 / 422: its own wording, token counts
   * and window; `undefined` when the text is not about the context.
   */
  readonly contextTooLarge?: ((text: string, code: unknown) => ContextTooLarge | undefined) | undefined
  /** Provider-specific rows checked first (Anthropic's 402 billing, OpenAI's insufficient_quota). */
  readonly override?: ((status: number, f: StatusFailure, shouldRetry: boolean | undefined) => LLMError | undefined) | undefined
}

/** The status table (see the header). */
export const fromStatus = (status: number, f: StatusFailure, ctx: UpstreamContext, hooks: StatusHooks = {}): LLMError => {
  const { model } = ctx
  const shouldRetry = shouldRetryHeader(f.headers)
  const overridden = hooks.override?.(status, f, shouldRetry)
  if (overridden !== undefined) return overridden
  const message = scrub(f.message, ctx.secrets)
  if (status === 400 || status === 413 || status === 422) {
    const context = hooks.contextTooLarge?.(f.text ?? f.message, f.code)
    if (context !== undefined) return context
  }
  if (status === 401 || status === 403) return new AuthenticationFailed({ model, message, status, shouldRetry })
  // An unknown model will not appear on a retry; another candidate may have one.
  if (status === 404) return new ModelUnavailable({ model, message, status, shouldRetry: shouldRetry ?? false })
  if (status === 408) return new TimeoutError({ model, timeoutMs: ctx.timeoutMs, message, shouldRetry })
  if (status === 429) {
    return new RateLimitExceeded({ model, retryAfter: retryAfterMs(f.headers), message, shouldRetry })
  }
  if (status >= 500 || status === 409) return new ModelUnavailable({ model, message, status, shouldRetry })
  if (status < 400) {
    // A POST cannot be safely replayed to another address: the config should name the final one.
    return new NetworkError({ model, message: scrub(`${status} redirect from upstream: point baseUrl at its final address`) })
  }
  return new InvalidRequest({ model, message, param: f.param, shouldRetry })
}

/** The first `code` in an error's cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET`): safe to show. */
export const causeCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string" && code.length > 0) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT"
])

/**
 * A failure without an answer to read: refused, reset, socket closed, DNS, a body cut mid-read
 * (undici's `TypeError: terminated`), or one of undici's timeouts. `what` says when it happened
 * ("connection failed", "connection lost while reading the response").
 */
export const transportFailure = (error: unknown, ctx: UpstreamContext, what = "connection failed"): LLMError => {
  const code = causeCode(error)
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new TimeoutError({ model: ctx.model, timeoutMs: ctx.timeoutMs, message: `request timed out (${code})` })
  }
  return new NetworkError({ model: ctx.model, message: scrub(`${what}${code ? ` (${code})` : ""}`, ctx.secrets) })
}

/** Whether an error is a transport failure `transportFailure` should classify (has a cause code, or is undici's `terminated`). */
export const isTransportFailure = (error: unknown): boolean =>
  causeCode(error) !== undefined || (error instanceof TypeError && /terminated|fetch failed|socket/i.test(error.message))

/** The caller's own abort signal fired (a timeout signal reports as `TimeoutError` instead). */
export const aborted = (ctx: UpstreamContext): LLMError => new NetworkError({ model: ctx.model, message: "request aborted" })

/** The client's own deadline passed before an answer arrived. */
export const timedOut = (ctx: UpstreamContext, message = "request timed out"): LLMError =>
  new TimeoutError({ model: ctx.model, timeoutMs: ctx.timeoutMs, message })

/** The first number a pattern captures (`resulted in (\d+) tokens`), for token counts and windows in messages. */
export const firstNumber = (patterns: ReadonlyArray<RegExp>, text: string): number | undefined => {
  for (const p of patterns) {
    const m = p.exec(text)
    if (m !== null) return Number(m[1])
  }
  return undefined
}
