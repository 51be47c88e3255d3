/**
 * What the LLMError union decides, in one place. The policy asks the error (`isRetryable`,
 * `shouldFallback`, `retryAfterMs`); it never looks at status codes.
 *
 * - retryable (RateLimitExceeded, TimeoutError, NetworkError, ModelUnavailable unless the
 *   upstream said `x-should-retry: false`): the same model again, up to `maxRetries`, after an
 *   exponential, jittered backoff that is never shorter than the error's retry-after;
 * - AuthenticationFailed, ConfigurationError: next candidate at once;
 * - ContextTooLarge: next candidate with a larger context window only;
 * - InvalidRequest: fail at once — it would fail on every candidate.
 */
import { Duration, Effect, Pull, Schedule } from "effect"
import {
  AuthenticationFailed,
  ConfigurationError,
  ContextTooLarge,
  InvalidRequest,
  type LLMError,
  ModelUnavailable,
  NetworkError,
  RateLimitExceeded,
  TimeoutError,
  withAttempts
} from "../../domain/LLMError.ts"
import type { Attempt } from "../../domain/Domain.ts"

export interface BackoffOptions {
  /** First retry delay before jitter (default 500 ms, as the OpenAI and Anthropic SDKs). */
  readonly baseMs: number
  /** Cap before jitter (default 8 s). */
  readonly maxMs: number
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, maxMs: 8_000 }

/** `min(base · 2^n, max)`, jittered ×[0.8, 1.2], then floored at the error's retry-after. */
export const backoffSchedule = (options: BackoffOptions) =>
  Schedule.exponential(Duration.millis(options.baseMs), 2).pipe(
    Schedule.setInputType<LLMError>(),
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(options.maxMs)))),
    Schedule.jittered,
    Schedule.modifyDelay(({ duration, input }) =>
      Effect.succeed(Duration.max(duration, Duration.millis(input.retryAfterMs)))
    )
  )

/** A stepper for one model's retries: the delay (ms) before retry n given the error. */
export const makeBackoff = (options: BackoffOptions) =>
  Effect.map(Schedule.toStep(backoffSchedule(options)), (step) => (now: number, error: LLMError) =>
    step(now, error).pipe(
      Effect.map(([, delay]) => Duration.toMillis(delay)),
      Pull.catchDone(() => Effect.succeed(Infinity))
    ))

export type Decision = "retry" | "fallback" | "fail"

export const decide = (error: LLMError, retriesLeft: number): Decision => {
  if (!error.shouldFallback && !error.isRetryable) return "fail"
  if (error.isRetryable && retriesLeft > 0) return "retry"
  return error.shouldFallback ? "fallback" : "fail"
}

/**
 * When every candidate failed, the caller gets the error that tells it most (the HTTP
 * table of notes/http-api.md): all tries failing the same way → that error (AuthenticationFailed everywhere is
 * the upstream-auth 502; RateLimitExceeded everywhere is a 429 with the soonest retry-after);
 * otherwise the first of: InvalidRequest, RateLimitExceeded, TimeoutError, ModelUnavailable,
 * NetworkError, ContextTooLarge, AuthenticationFailed, ConfigurationError.
 */
const preference: ReadonlyArray<LLMError["_tag"]> = [
  "InvalidRequest",
  "RateLimitExceeded",
  "TimeoutError",
  "ModelUnavailable",
  "NetworkError",
  "ContextTooLarge",
  "AuthenticationFailed",
  "ConfigurationError"
]

export const mostInformative = (errors: ReadonlyArray<LLMError>): LLMError | undefined => {
  if (errors.length === 0) return undefined
  let best: LLMError = errors[0]
  for (const e of errors) {
    const rank = preference.indexOf(e._tag)
    const bestRank = preference.indexOf(best._tag)
    if (rank < bestRank) best = e
    else if (rank === bestRank && e._tag === "RateLimitExceeded" && best._tag === "RateLimitExceeded") {
      // the soonest moment something frees up
      if (e.retryAfter > 0 && (best.retryAfter === 0 || e.retryAfter < best.retryAfter)) best = e
    } else if (rank === bestRank) best = e // the latest of a kind is the freshest news
  }
  return best
}

export const chainTimeout = (model: string, timeoutMs: number) =>
  new TimeoutError({ model, timeoutMs, message: `no answer within the routing deadline of ${timeoutMs} ms` })

export const locallyLimited = (model: string, waitMs: number) =>
  new RateLimitExceeded({ model, retryAfter: waitMs, message: "configured rpm/tpm exhausted" })

const seconds = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))} s`

/** Why one candidate fell out, in a few words (the ref is said by the caller). */
export const reasonOf = (e: LLMError): string => {
  switch (e._tag) {
    case "RateLimitExceeded":
      return `rate limited${e.retryAfter > 0 ? ` (retry after ${seconds(e.retryAfter)})` : ""}`
    case "TimeoutError":
      return `timed out after ${e.timeoutMs} ms`
    case "ContextTooLarge":
      return `context too large (~${e.tokenCount} tokens)`
    case "NetworkError":
      return `unreachable (${e.message})`
    case "ModelUnavailable":
      return `unavailable (${e.message})`
    case "AuthenticationFailed":
      return `authentication failed (${e.message})`
    case "ConfigurationError":
      return `misconfigured (${e.message})`
    case "InvalidRequest":
      return `refused the request (${e.message})`
  }
}

/** `error`'s kind and details under another model name and message (no fields copied by reflection). */
const restated = (error: LLMError, model: string, message: string): LLMError => {
  switch (error._tag) {
    case "ModelUnavailable":
      return new ModelUnavailable({ model, message, status: error.status, shouldRetry: error.shouldRetry })
    case "RateLimitExceeded":
      return new RateLimitExceeded({ model, message, retryAfter: error.retryAfter, shouldRetry: error.shouldRetry })
    case "InvalidRequest":
      return new InvalidRequest({ model, message, param: error.param, shouldRetry: error.shouldRetry })
    case "AuthenticationFailed":
      return new AuthenticationFailed({ model, message, status: error.status, shouldRetry: error.shouldRetry })
    case "TimeoutError":
      return new TimeoutError({ model, message, timeoutMs: error.timeoutMs, shouldRetry: error.shouldRetry })
    case "ContextTooLarge":
      return new ContextTooLarge({ model, message, tokenCount: error.tokenCount, contextWindow: error.contextWindow })
    case "ConfigurationError":
      // no model field: the message names it instead
      return new ConfigurationError({ message: `${model}: ${message}`, path: error.path })
    case "NetworkError":
      return new NetworkError({ model, message, shouldRetry: error.shouldRetry })
  }
}

/**
 * The error a request fails with when every candidate failed: `best`'s kind (so its status and
 * retry-after stand), but naming what the caller asked for — not whichever candidate happened
 * to be tried last — and why each candidate fell out; the attempts beside it.
 */
export const summarize = (
  best: LLMError,
  requested: { readonly model: string; readonly task?: string | undefined },
  reasons: ReadonlyArray<string>,
  attempts: ReadonlyArray<Attempt>
): LLMError => {
  const forTask = requested.task !== undefined ? ` for task ${requested.task}` : ""
  return withAttempts(restated(best, requested.model, `no candidate answered${forTask}: ${reasons.join("; ")}`), attempts)
}
