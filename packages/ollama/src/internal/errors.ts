/**
 * What the `ollama` SDK throws, over core's upstream-error kit (`@llm-gateway/core/providers/UpstreamErrors`:
 * the status table, retry headers, transport failures).
 *
 * What is Ollama's own (ollama 0.6):
 * - `ResponseError` (not exported; recognised by `name` and `status_code`) for any non-2xx answer,
 *   with Ollama's `{"error":"..."}` text as message. It drops the response headers, so the client's
 *   fetch wrapper captures them (`retry-after`, `x-should-retry`) and hands them in here.
 * - a plain `Error` with the upstream's text for an in-band `{"error":...}` line in a stream (a 200:
 *   only the text tells), and `Error("Did not receive done or success response in stream.")` when
 *   a stream ends early.
 * - `SyntaxError` when a 200 body is not JSON; `AbortError` / `TimeoutError` DOMExceptions when a
 *   signal aborts the request; fetch's `TypeError` for refused / reset / cut connections.
 * - its context-length wording (`num_ctx`, "context length of 4096") and its 404 for a model that
 *   is not pulled.
 */
import { ContextTooLarge, type LLMError, ModelUnavailable, NetworkError } from "@llm-gateway/core/domain/LLMError"
import * as Upstream from "@llm-gateway/core/providers/UpstreamErrors"

export { retryAfterMs } from "@llm-gateway/core/providers/UpstreamErrors"

export interface ErrorContext extends Upstream.UpstreamContext {
  /** Headers of the failed HTTP answer, when the fetch wrapper saw one. */
  readonly headers?: Headers | undefined
  /** Tokens the request needs by estimate, for ContextTooLarge when the upstream gives no count. */
  readonly estimatedTokens?: number | undefined
}

const CONTEXT_PATTERN =
  /context (length|window|size)|context_length|maximum context|num_ctx|(prompt|input) (is )?too long|too many tokens|exceeds? (the )?token limit/i

export const isContextLengthMessage = (message: string): boolean => CONTEXT_PATTERN.test(message)

/** The context-length hook: token counts an upstream may put in its message ("... 5000 tokens ... context length of 4096"). */
const contextTooLarge = (ctx: ErrorContext) => (message: string): ContextTooLarge | undefined => {
  if (!isContextLengthMessage(message)) return undefined
  // "exceeded ... by 12 tokens" is the overflow, not the size of the request
  const tokens = /(?<!by )\b(\d+)\s*(?:input\s+)?tokens/i.exec(message)
  const window = /(?:context (?:length|window|size)|num_ctx)(?:\s+(?:is|of))?\s*[=:]?\s*(\d+)/i.exec(message)
  const tokenCount = tokens ? Number(tokens[1]) : (ctx.estimatedTokens ?? 0)
  return new ContextTooLarge({
    model: ctx.model,
    message: Upstream.scrub(message, ctx.secrets),
    tokenCount,
    ...(window && Number(window[1]) !== tokenCount ? { contextWindow: Number(window[1]) } : {})
  })
}

export const fromStatus = (status: number, message: string, ctx: ErrorContext): LLMError =>
  Upstream.fromStatus(status, { message, headers: ctx.headers }, ctx, { contextTooLarge: contextTooLarge(ctx) })

const STREAM_ENDED_EARLY = "Did not receive done or success response in stream."

/** Maps anything the SDK (or its fetch) throws; never throws itself. */
export const toLLMError = (error: unknown, ctx: ErrorContext): LLMError => {
  if (!(error instanceof Error)) {
    return new ModelUnavailable({ model: ctx.model, message: `unexpected failure: ${String(error)}` })
  }
  const status = (error as { status_code?: unknown }).status_code
  if (error.name === "ResponseError" && typeof status === "number") return fromStatus(status, error.message, ctx)
  if (error.name === "TimeoutError") return Upstream.timedOut(ctx, error.message)
  if (error.name === "AbortError") return Upstream.aborted(ctx)
  if (error instanceof TypeError) return Upstream.transportFailure(error, ctx, error.message)
  if (error instanceof SyntaxError) {
    return new ModelUnavailable({ model: ctx.model, message: `malformed response from upstream: ${error.message}` })
  }
  if (error.message === STREAM_ENDED_EARLY) {
    return new NetworkError({ model: ctx.model, message: "stream ended before the final (done) message" })
  }
  // An in-band `{"error": "..."}` line of a stream: Ollama sends it with a 200, so only the text tells.
  const message = Upstream.scrub(error.message, ctx.secrets)
  return contextTooLarge(ctx)(error.message) ??
    new ModelUnavailable({ model: ctx.model, message, ...(/not found/i.test(error.message) ? { shouldRetry: false } : {}) })
}
