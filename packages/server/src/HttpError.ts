/**
 * The one table from failures to HTTP answers (notes/http-api.md "Errors"): every error the server sends
 * is OpenAI's envelope `{"error":{"message","type","code","param"}}` with the status, `type`
 * (the LLMError tag) and `code` below. Bad input is always a 4xx; only a configuration problem
 * (or a bug) is a 500.
 *
 * | condition                                   | status | type                 | code                    |
 * |---------------------------------------------|--------|----------------------|-------------------------|
 * | malformed JSON / schema violation           | 400    | InvalidRequest       | invalid_json / invalid_request |
 * | body over `server.maxBodyBytes`             | 413    | InvalidRequest       | payload_too_large       |
 * | upstream rejected the request               | 400    | InvalidRequest       | invalid_request         |
 * | every candidate's context too small         | 400    | ContextTooLarge      | context_length_exceeded |
 * | missing or wrong gateway key                | 401    | AuthenticationFailed | invalid_api_key         |
 * | unknown model                               | 404    | ModelUnavailable     | model_not_found         |
 * | RateLimitExceeded (+ `retry-after` seconds) | 429    | RateLimitExceeded    | rate_limit_exceeded     |
 * | upstream AuthenticationFailed               | 502    | AuthenticationFailed | upstream_auth_failed    |
 * | NetworkError                                | 502    | NetworkError         | upstream_unreachable    |
 * | ModelUnavailable                            | 503    | ModelUnavailable     | model_unavailable       |
 * |   (no chat model configured: + `x-should-retry: false`, the message says what to set)  |
 * | TimeoutError                                | 504    | TimeoutError         | timeout                 |
 * | ConfigurationError                          | 500    | ConfigurationError   | configuration_error     |
 * | stream cut by shutdown (SSE error event)    | 503    | ServiceUnavailable   | server_shutting_down    |
 */
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { attemptsOf, describe } from "@llm-gateway/core/domain/LLMError"

export interface ApiErrorFields {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
  /** The offending request field (`messages[0].role`), when known. */
  readonly param?: string | undefined
  /** Seconds, for the `retry-after` header of a 429. */
  readonly retryAfterSeconds?: number | undefined
  /** `false` sends `x-should-retry: false`, which the OpenAI and Anthropic SDKs obey over the status. */
  readonly shouldRetry?: boolean | undefined
  /** Extra response headers (e.g. `x-llm-budget-remaining-usd` on a `budget_exceeded`). */
  readonly headers?: Record<string, string> | undefined
}

/** An answer in OpenAI's error envelope (built on error paths only). */
export class ApiError implements ApiErrorFields {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
  readonly param: string | undefined
  readonly retryAfterSeconds: number | undefined
  readonly shouldRetry: boolean | undefined
  readonly headers: Record<string, string> | undefined
  constructor(fields: ApiErrorFields) {
    this.headers = fields.headers
    this.status = fields.status
    this.type = fields.type
    this.code = fields.code
    this.message = fields.message
    this.param = fields.param
    this.retryAfterSeconds = fields.retryAfterSeconds
    this.shouldRetry = fields.shouldRetry
  }
}

const make = (fields: ApiErrorFields) => new ApiError(fields)

export interface ErrorEnvelope {
  readonly error: {
    readonly message: string
    readonly type: string
    readonly code: string
    readonly param: string | null
  }
}

export const invalidJson = (detail: string): ApiError =>
  make({
    status: 400,
    type: "InvalidRequest",
    code: "invalid_json",
    message: `the request body is not valid JSON: ${detail}`
  })

export const invalidRequest = (message: string, param?: string): ApiError =>
  make({
    status: 400,
    type: "InvalidRequest",
    code: "invalid_request",
    message,
    param
  })

export const payloadTooLarge = (maxBytes: number): ApiError =>
  make({
    status: 413,
    type: "InvalidRequest",
    code: "payload_too_large",
    message: `the request body is larger than ${maxBytes} bytes (server.maxBodyBytes)`
  })

export const invalidApiKey: ApiError = make({
  status: 401,
  type: "AuthenticationFailed",
  code: "invalid_api_key",
  message: "missing or invalid API key: send `Authorization: Bearer <key>` with a key configured in server.apiKeys"
})

export const modelNotFound = (model: string, message?: string): ApiError =>
  make({
    status: 404,
    type: "ModelUnavailable",
    code: "model_not_found",
    message: message ?? `unknown model "${model}" (GET /v1/models lists the models)`,
    param: "model"
  })

export const routeNotFound = (method: string, path: string): ApiError =>
  make({
    status: 404,
    type: "InvalidRequest",
    code: "not_found",
    message: `no route ${method} ${path}`
  })

export const methodNotAllowed = (method: string, path: string, allowed: string): ApiError =>
  make({
    status: 405,
    type: "InvalidRequest",
    code: "method_not_allowed",
    message: `${method} is not allowed on ${path} (use ${allowed})`
  })

/** The SSE error event of a stream still open when the shutdown grace ran out. */
export const serverShuttingDown: ApiError = make({
  status: 503,
  type: "ServiceUnavailable",
  code: "server_shutting_down",
  message: "the gateway is shutting down and cut this stream before it finished; retry the request"
})

export const internalError: ApiError = make({
  status: 500,
  type: "InternalError",
  code: "internal_error",
  message: "the gateway failed unexpectedly; the error was logged"
})

/** Seconds for `retry-after`: at least 1, so a client never retries in a tight loop. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/**
 * The mapping from the LLMError union to HTTP: the only place that decides a status code for
 * an upstream or routing failure.
 */
export const fromLLMError = (e: LLMError): ApiError => {
  const message = describe(e)
  switch (e._tag) {
    case "InvalidRequest":
      return make({ status: 400, type: e._tag, code: "invalid_request", message, param: e.param })
    case "ContextTooLarge":
      return make({ status: 400, type: e._tag, code: "context_length_exceeded", message })
    case "ModelUnavailable":
      // The router refuses a name no provider lists before trying anything: that is the
      // caller's mistake (404); a known model that cannot answer now is a 503.
      return e.status === 404 && (attemptsOf(e) ?? []).length === 0
        ? modelNotFound(e.model, e.message)
        : make({ status: 503, type: e._tag, code: "model_unavailable", message, shouldRetry: e.shouldRetry })
    case "RateLimitExceeded":
      return make({
        status: 429,
        type: e._tag,
        code: "rate_limit_exceeded",
        message,
        retryAfterSeconds: retryAfterSeconds(e.retryAfter)
      })
    case "AuthenticationFailed":
      return make({ status: 502, type: e._tag, code: "upstream_auth_failed", message })
    case "NetworkError":
      return make({ status: 502, type: e._tag, code: "upstream_unreachable", message })
    case "TimeoutError":
      return make({ status: 504, type: e._tag, code: "timeout", message })
    case "ConfigurationError":
      return make({ status: 500, type: e._tag, code: "configuration_error", message })
  }
}

export const envelope = (e: ApiError): ErrorEnvelope => ({
  error: { message: e.message, type: e.type, code: e.code, param: e.param ?? null }
})
