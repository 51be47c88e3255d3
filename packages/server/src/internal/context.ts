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

/**
 * Turns a route's failure into its answer: a typed failure through the error table, a defect
 * into a logged 500; an interruption (the client left) stays an interruption.
 */
export const guard = <R>(
  ctx: ServerContext,
  request: HttpServerRequest.HttpServerRequest,
  effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  Effect.catchCause(effect, (cause) => {
    const failure = Cause.findErrorOption(cause)
    if (failure._tag === "Some") {
      const e = toApiError(failure.value)
      return Effect.as(logFailure(ctx, request, e), errorResponse(e, ctx.scrubber))
    }
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    return Effect.as(
      Effect.logError(ctx.scrubber.scrub(`${request.method} ${request.url} failed: ${Cause.pretty(cause)}`)),
      errorResponse(internalError, ctx.scrubber)
    )
  })

/** Runs `f` with the caller's tenant scope, or answers 401 when a key is required and wrong. */
export const authenticated = <R>(
  ctx: ServerContext,
  request: HttpServerRequest.HttpServerRequest,
  f: (scope: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> => {
  const scope = ctx.auth.scopeOf(request.headers.authorization)
  if (scope !== undefined) return guard(ctx, request, f(scope))
  // not a static key: an admin or virtual key (the latter verified against the key store)
  return guard(
    ctx,
    request,
    Effect.flatMap(ctx.auth.callerOf(request.headers.authorization), (caller) =>
      caller === undefined ? Effect.fail(invalidApiKey) : f(caller.scope))
  )
}

/**
 * The JSON routes' one preamble: authenticate, read the body (`ctx.readJson`, or the route's own
 * reader), decode it with `read`, then `handle` the decoded input with the caller's scope. `read`
 * returns an `ApiError` to refuse the body (validate.ts: a 400 naming the field). Decoding is a plain call inside the read's continuation, so the chat path runs
 * the same Effect steps as when each route wrote this out.
 */
export const jsonRoute = <A, R>(
  ctx: ServerContext,
  request: HttpServerRequest.HttpServerRequest,
  read: (body: unknown) => A | ApiError,
  handle: (input: A, scope: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, R>,
  readJson: ServerContext["readJson"] = ctx.readJson
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  authenticated(ctx, request, (scope) =>
    Effect.flatMap(readJson(request), (body) => {
      const input = read(body)
      return input instanceof ApiError ? Effect.fail(input) : handle(input, scope)
    }))

export const isFailure = (u: unknown): u is Failure => u instanceof ApiError || isLLMError(u)
