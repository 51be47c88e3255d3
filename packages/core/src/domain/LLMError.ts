/**
 * The tagged error union every layer of the gateway speaks (notes/http-api.md "Errors").
 *
 * Each error answers the three questions the router asks, so the retry policy asks the
 * error instead of switching on status codes in many places (the idea of effect/ai's
 * AiError reasons):
 * - `isRetryable`: may the same model be tried again?
 * - `shouldFallback`: may the next candidate be tried?
 * - `retryAfterMs`: the earliest moment a retry may happen (0 = no floor).
 *
 * `shouldRetry` is the upstream's own verdict (`x-should-retry` header) and overrides the
 * default retryability of a tag.
 */
import { Predicate, Schema } from "effect"
import { Attempt } from "./Domain.ts"

const ShouldRetry = Schema.optional(Schema.Boolean)

/** What a tag answers by default; `shouldRetry` (the upstream's verdict) overrides `retry`. */
interface Policy {
  readonly retry: boolean
  /** The request itself is wrong (`InvalidRequest`): it would fail on every candidate. */
  readonly fallback?: false
}

/**
 * The router's three questions, answered once for every class from its `Policy` (the getters
 * were eight copies of the same code). `retryAfterMs` is 0 unless the class overrides it.
 */
const withPolicy = <B extends abstract new(...args: Array<any>) => object>(Base: B, policy: Policy) => {
  abstract class WithPolicy extends Base {
    get isRetryable(): boolean {
      return (this as { readonly shouldRetry?: boolean | undefined }).shouldRetry ?? policy.retry
    }
    get shouldFallback(): boolean {
      return policy.fallback ?? true
    }
    get retryAfterMs(): number {
      return 0
    }
  }
  return WithPolicy
}
export class ModelUnavailable extends withPolicy(Schema.TaggedError<ModelUnavailable>()("ModelUnavailable", {
  model: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  shouldRetry: ShouldRetry
}), { retry: true }) {}

export class RateLimitExceeded extends withPolicy(Schema.TaggedError<RateLimitExceeded>()("RateLimitExceeded", {
  model: Schema.String,
  /** Milliseconds the upstream asked us to wait (0 when it did not say). */
  retryAfter: Schema.Number,
  message: Schema.optional(Schema.String),
  shouldRetry: ShouldRetry
}), { retry: true }) {
  override get retryAfterMs(): number {
    return this.retryAfter
  }
}

export class InvalidRequest extends withPolicy(Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  model: Schema.optional(Schema.String),
  /** The offending field, when known (`messages[0].role`). */
  param: Schema.optional(Schema.String),
  shouldRetry: ShouldRetry
}), { retry: false, fallback: false }) {}

export class AuthenticationFailed extends withPolicy(Schema.TaggedError<AuthenticationFailed>()("AuthenticationFailed", {
  model: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  shouldRetry: ShouldRetry
}), { retry: false }) {}

export class TimeoutError extends withPolicy(Schema.TaggedError<TimeoutError>()("TimeoutError", {
  model: Schema.String,
  timeoutMs: Schema.Number,
  message: Schema.optional(Schema.String),
  shouldRetry: ShouldRetry
}), { retry: true }) {}

export class ContextTooLarge extends withPolicy(Schema.TaggedError<ContextTooLarge>()("ContextTooLarge", {
  model: Schema.String,
  /** Tokens the request needs (estimated when the upstream did not say). */
  tokenCount: Schema.Number,
  /** The window of the model that refused, when known: fallback only goes to larger ones. */
  contextWindow: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String)
}), { retry: false }) {}

export class ConfigurationError extends withPolicy(Schema.TaggedError<ConfigurationError>()("ConfigurationError", {
  message: Schema.String,
  /** Where the problem is: a config path (`providers[0].baseUrl`) or a file path. */
  path: Schema.optional(Schema.String)
}), { retry: false }) {}

export class NetworkError extends withPolicy(Schema.TaggedError<NetworkError>()("NetworkError", {
  model: Schema.String,
  message: Schema.String,
  shouldRetry: ShouldRetry
}), { retry: true }) {}

export type LLMError =
  | ModelUnavailable
  | RateLimitExceeded
  | InvalidRequest
  | AuthenticationFailed
  | TimeoutError
  | ContextTooLarge
  | ConfigurationError
  | NetworkError

export const LLMError = Schema.Union([
  ModelUnavailable,
  RateLimitExceeded,
  InvalidRequest,
  AuthenticationFailed,
  TimeoutError,
  ContextTooLarge,
  ConfigurationError,
  NetworkError
])

export type LLMErrorTag = LLMError["_tag"]

/** Every tag of the union, in declaration order (metrics pre-create one series per tag). */
export const LLMErrorTags: ReadonlyArray<LLMErrorTag> = [
  "ModelUnavailable",
  "RateLimitExceeded",
  "InvalidRequest",
  "AuthenticationFailed",
  "TimeoutError",
  "ContextTooLarge",
  "ConfigurationError",
  "NetworkError"
]

const tags: ReadonlySet<string> = new Set<string>(LLMErrorTags)

export const isLLMError = (u: unknown): u is LLMError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)

/**
 * The attempts of a routed request travel beside the error it failed with, not inside it: an
 * error is what went wrong (one client's verdict, or the router's on a whole chain), the
 * attempts are what the router did about it. Keyed by the error instance, so they follow it
 * through the manager, the server and streams without any layer copying the error, and go
 * when it goes.
 */
const routedAttempts = new WeakMap<LLMError, ReadonlyArray<Attempt>>()

/**
 * Every try of every candidate (model, outcome, ms) of the routed request that failed with
 * `error`; `undefined` for an error that did not end a routed request (one client's error, a
 * request refused before routing). See notes/routing.md "The attempts of a failed request".
 */
export const attemptsOf = (error: LLMError): ReadonlyArray<Attempt> | undefined => routedAttempts.get(error)

/** Sets the attempts beside `error` (the router's, when a request fails with it) and returns it. */
export const withAttempts = <E extends LLMError>(error: E, attempts: ReadonlyArray<Attempt>): E => {
  routedAttempts.set(error, attempts)
  return error
}

/** A one-line human description, safe to log (errors never carry secrets). */
export const describe = (error: LLMError): string => {
  // the router's verdict on a whole chain (attempts beside it) already says it all
  const attempts = attemptsOf(error)
  if (attempts !== undefined && attempts.length > 0 && error.message) {
    return "model" in error && error.model ? `${error.model}: ${error.message}` : error.message
  }
  switch (error._tag) {
    case "RateLimitExceeded":
      return `${error.model}: rate limit exceeded${error.retryAfter > 0 ? ` (retry after ${error.retryAfter} ms)` : ""}`
    case "TimeoutError":
      return `${error.model}: timed out after ${error.timeoutMs} ms`
    case "ContextTooLarge":
      return `${error.model}: context too large (${error.tokenCount} tokens${
        error.contextWindow ? `, window ${error.contextWindow}` : ""
      })`
    case "ConfigurationError":
      return error.path ? `${error.path}: ${error.message}` : error.message
    case "InvalidRequest":
      return error.model ? `${error.model}: ${error.message}` : error.message
    default:
      return `${error.model}: ${error.message}`
  }
}
