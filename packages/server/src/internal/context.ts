/**
 * What every route needs, resolved once when the server starts (services, the authenticator,
 * the body reader, the secret scrubber), so a request looks nothing up.
 */
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import { isLLMError, type LLMError } from "@llm-gateway/core/domain/LLMError"
import type { GatewayStatusShape } from "@llm-gateway/core/manager/GatewayStatus"
import type { LLMManagerShape } from "@llm-gateway/core/manager/LLMManager"
import { Cause, Effect } from "effect"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import { ApiError, fromLLMError, internalError, invalidApiKey } from "../HttpError.ts"
import type { Authenticator } from "./auth.ts"
import type { Governance } from "./governanceServices.ts"
import { errorResponse } from "./http.ts"
import type { Scrubber } from "./secrets.ts"

export interface ServerContext {
  readonly config: GatewayConfig
  readonly manager: LLMManagerShape
  /** Models, router and cache counters, provider health: the read-only side of the gateway. */
  readonly status: GatewayStatusShape
  readonly auth: Authenticator
  /** Virtual keys, budgets, the usage ledger (notes/http-api.md "Admin API", notes/operations.md "Budgets"). */
  readonly governance: Governance
  readonly scrubber: Scrubber
  readonly readJson: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<unknown, ApiError>
  /** `performance.now()` when the server started. */
  readonly startedAt: number
}

export type Failure = ApiError | LLMError

/** What a route's body produces before `guard` turns failures into answers. */
export type Handled<R = never> = Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>

export const toApiError = (e: Failure): ApiError => (e instanceof ApiError ? e : fromLLMError(e))

/** Logs what the operator must see (5xx answers), scrubbed; 4xx are the caller's business. */
const logFailure = (ctx: ServerContext, request: HttpServerRequest.HttpServerRequest, e: ApiError) =>
  e.status >= 500
    ? Effect.logWarning(ctx.scrubber.scrub(`${request.method} ${request.url} → ${e.status} ${e.code}: ${e.message}`))
    : Effect.void

/** A failure's answer, its body scrubbed of secrets. */
export type ErrorRenderer = (e: ApiError, scrubber: Scrubber) => HttpServerResponse.HttpServerResponse

/**
 * How a family of routes authenticates and answers failures. The defaults are the OpenAI-style
 * routes': the `Authorization` header, any gateway key, OpenAI's error envelope. Give routes one
 * options object made once, not one per request.
 */
export interface RouteOptions {
  /** The request's key as an `Authorization` value (Anthropic's SDKs send `x-api-key`). */
  readonly authorization?: ((request: HttpServerRequest.HttpServerRequest) => string | undefined) | undefined
  /** Admin keys only (the admin API); otherwise any gateway key. */
  readonly adminOnly?: boolean | undefined
  /** A failure's answer; OpenAI's error envelope by default. */
  readonly render?: ErrorRenderer | undefined
  /** The body reader; `ctx.readJson` by default (a route with its own body limit brings its own). */
  readonly readJson?: ServerContext["readJson"] | undefined
}

const defaults: RouteOptions = {}

/**
 * Turns a route's failure into its answer: a typed failure through the error table, a defect
 * into a logged 500; an interruption (the client left) stays an interruption.
 */
export const guard = <R>(
  ctx: ServerContext,
  request: HttpServerRequest.HttpServerRequest,
  effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>,
  render: ErrorRenderer = errorResponse
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  Effect.catchCause(effect, (cause) => {
    const failure = Cause.findErrorOption(cause)
    if (failure._tag === "Some") {
      const e = toApiError(failure.value)
      return Effect.as(logFailure(ctx, request, e), render(e, ctx.scrubber))
    }
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    return Effect.as(
      Effect.logError(ctx.scrubber.scrub(`${request.method} ${request.url} failed: ${Cause.pretty(cause)}`)),
      render(internalError, ctx.scrubber)
    )
  })

/**
 * Runs `f` with the caller's tenant scope (for an admin route, the admin's: it names the actor
 * in the audit log), or answers 401 when a key is required and wrong.
 */
export const authenticated = <R>(
  ctx: ServerContext,
  request: HttpServerRequest.HttpServerRequest,
  f: (scope: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>,
  options: RouteOptions = defaults
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> => {
  const authorization = options.authorization === undefined ? request.headers.authorization : options.authorization(request)
  if (options.adminOnly !== true) {
    const scope = ctx.auth.scopeOf(authorization)
    if (scope !== undefined) return guard(ctx, request, f(scope), options.render)
  }
  // not a static key: an admin or virtual key (the latter verified against the key store)
  return guard(
    ctx,
    request,
    Effect.flatMap(ctx.auth.callerOf(authorization), (caller) =>
      caller === undefined || (options.adminOnly === true && !caller.admin) ? Effect.fail(invalidApiKey) : f(caller.scope)),
    options.render
  )
}

/**
 * The JSON routes' one preamble: authenticate, read the body (`ctx.readJson`, or the route's own
 * reader), decode it with `read`, then `handle` the decoded input with the caller's scope. `read`
 * returns an `ApiError` to refuse the body (validate.ts: a 400 naming the field). Decoding is a
 * plain call inside the read's continuation, so the chat path runs the same Effect steps as when
 * each route wrote this out; `options` (authorization, admin only, error shape) are read, not run.
 */
export const jsonRoute = <A, R>(
  ctx: ServerContext,
  request: HttpServerRequest.HttpServerRequest,
  read: (body: unknown) => A | ApiError,
  handle: (input: A, scope: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>,
  options: RouteOptions = defaults
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  authenticated(ctx, request, (scope) =>
    Effect.flatMap((options.readJson ?? ctx.readJson)(request), (body) => {
      const input = read(body)
      return input instanceof ApiError ? Effect.fail(input) : handle(input, scope)
    }), options)

export const isFailure = (u: unknown): u is Failure => u instanceof ApiError || isLLMError(u)
