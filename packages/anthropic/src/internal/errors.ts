/**
 * `@anthropic-ai/sdk` failures over core's upstream-error kit (`@llm-gateway/core/providers/UpstreamErrors`).
 *
 * What is Anthropic's own: its error `type`s — an `event: error` inside a stream has no status,
 * so its type stands for one (`overloaded_error` → 529) and goes through the same status table —
 * `billing_error` (402: the account cannot pay; like a bad key, another provider may answer),
 * its context-length wording (`prompt is too long: N tokens > M maximum`), a stream that ends
 * without `message_stop`, and a malformed 200 body as ModelUnavailable.
 */
import { AnthropicError, APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk"
import {
  AuthenticationFailed,
  ContextTooLarge,
  InvalidRequest,
  isLLMError,
  type LLMError,
  ModelUnavailable,
  NetworkError
} from "@llm-gateway/core/domain/LLMError"
import * as Upstream from "@llm-gateway/core/providers/UpstreamErrors"
import { StreamTruncated } from "./stream.ts"

export { retryAfterMs } from "@llm-gateway/core/providers/UpstreamErrors"

export interface ErrorContext extends Upstream.UpstreamContext {
  /** The model's configured context window, when the upstream does not say. */
  readonly contextWindow?: number | undefined
  readonly secrets: ReadonlyArray<string>
}

/** The status each of Anthropic's error types answers with (a mid-stream event stands for it). */
const statusOfType: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  timeout_error: 408,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529
}

/** `prompt is too long: 210000 tokens > 200000 maximum` and `input length and max_tokens exceed context limit: 188240 + 21333 > 200000`. */
const contextTooLarge = (ctx: ErrorContext) => (message: string): ContextTooLarge | undefined => {
  const prompt = /prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)/i.exec(message)
  const sum = /exceed context limit:\s*(\d+)\s*\+\s*(\d+)\s*>\s*(\d+)/i.exec(message)
  const found = prompt
    ? { tokenCount: Number(prompt[1]), contextWindow: Number(prompt[2]) }
    : sum
    ? { tokenCount: Number(sum[1]) + Number(sum[2]), contextWindow: Number(sum[3]) }
    : /prompt is too long/i.test(message)
    ? { tokenCount: 0, contextWindow: ctx.contextWindow }
    : undefined
  return found && new ContextTooLarge({ model: ctx.model, ...found, message: Upstream.scrub(message, ctx.secrets) })
}

const apiError = (ctx: ErrorContext, error: APIError): LLMError => {
  const type = error.type ?? undefined
  // A mid-stream event has the 200's headers: they say nothing about this error.
  const status = error.status ?? (type !== undefined ? statusOfType[type] : undefined) ?? 500
  const where = error.status !== undefined ? `${status}` : "mid-stream"
  const detail = error.apiMessage ?? (error.status !== undefined ? `status ${status}` : "error event")
  const kind = type ?? Object.keys(statusOfType).find((t) => statusOfType[t] === status) ?? (status >= 500 ? "api_error" : "invalid_request_error")
  return Upstream.fromStatus(
    status,
    { message: `${where} ${kind}: ${detail}`, headers: error.status !== undefined ? error.headers : undefined },
    ctx,
    {
      contextTooLarge: contextTooLarge(ctx),
      override: (s, f, shouldRetry) =>
        s === 402
          ? new AuthenticationFailed({ model: ctx.model, message: Upstream.scrub(f.message, ctx.secrets), status: error.status, shouldRetry })
          : undefined
    }
  )
}

/** Maps anything the SDK (or the stream reader) throws to an LLMError. */
export const toLLMError = (ctx: ErrorContext, error: unknown): LLMError => {
  if (isLLMError(error)) return error
  if (error instanceof APIConnectionTimeoutError) return Upstream.timedOut(ctx)
  if (error instanceof APIUserAbortError) return Upstream.aborted(ctx)
  if (error instanceof APIConnectionError) return Upstream.transportFailure(error.cause, ctx)
  if (error instanceof APIError) return apiError(ctx, error)
  if (error instanceof StreamTruncated) {
    return new NetworkError({ model: ctx.model, message: "stream ended before message_stop" })
  }
  if (error instanceof SyntaxError) {
    return new ModelUnavailable({ model: ctx.model, message: "malformed response from upstream" })
  }
  // The SDK's own checks before sending (e.g. "streaming is required for long requests").
  if (error instanceof AnthropicError) {
    return new InvalidRequest({ model: ctx.model, message: Upstream.scrub(error.message, ctx.secrets) })
  }
  // undici reports a body cut mid-read as `TypeError: terminated` (cause: UND_ERR_SOCKET).
  if (Upstream.isTransportFailure(error)) return Upstream.transportFailure(error, ctx, "connection lost")
  if (error instanceof Error && error.name === "AbortError") return Upstream.aborted(ctx)
  const name = error instanceof Error ? error.name : typeof error
  return new ModelUnavailable({ model: ctx.model, message: `unexpected upstream failure (${name})` })
}
