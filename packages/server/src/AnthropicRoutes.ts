/**
 * Anthropic's Messages API on the gateway: `POST /v1/messages` (JSON or SSE) and `POST
 * /v1/messages/count_tokens`, so Anthropic clients (the official SDKs, Claude Code with
 * `ANTHROPIC_BASE_URL`) reach every configured model. The gateway key comes as `x-api-key` (what
 * Anthropic's SDKs send) or `Authorization: Bearer`; every error, the gateway's own 401 included,
 * is Anthropic's `{type: "error", error: {type, message}}` (notes/http-api.md).
 */
import { tokenEstimator } from "@llm-gateway/core/accounting/TokenEstimator"
import type { PassthroughRequest } from "@llm-gateway/core/providers/Passthrough"
import { Effect, type Scope } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { type ApiError, modelNotFound } from "./HttpError.ts"
import {
  anthropicErrorBody,
  gatewayHeaders,
  type MessagesCall,
  messageId,
  messageJson,
  readMessagesRequest
} from "./internal/anthropicWire.ts"
import { anthropicPassthrough } from "./internal/anthropicPassthrough.ts"
import { streamMessages } from "./internal/anthropicStream.ts"
import { hintsOf } from "./internal/chatWire.ts"
import { authenticated, type Handled, jsonRoute, type RouteOptions, type ServerContext } from "./internal/context.ts"
import { JSON_TYPE, jsonText } from "./internal/http.ts"
import type { Scrubber } from "./internal/secrets.ts"
import { isApiError } from "./internal/validate.ts"

type Request = HttpServerRequest.HttpServerRequest

/** Anthropic's error shape (no `www-authenticate`: Anthropic's 401 has none). */
const renderError = (e: ApiError, scrubber: Scrubber) => {
  const headers: Record<string, string> = { ...e.headers }
  if (e.retryAfterSeconds !== undefined) headers["retry-after"] = String(e.retryAfterSeconds)
  if (e.shouldRetry === false) headers["x-should-retry"] = "false"
  return HttpServerResponse.text(scrubber.scrub(anthropicErrorBody(e)), { status: e.status, contentType: JSON_TYPE, headers })
}

/** Anthropic's SDKs send the key as `x-api-key`; a Bearer header (Claude Code's auth token) wins. */
const authorizationOf = (request: Request): string | undefined => {
  const bearer = request.headers.authorization
  if (bearer !== undefined) return bearer
  const key = request.headers["x-api-key"]
  return key === undefined ? undefined : `Bearer ${key}`
}

/** The shared preamble, with Anthropic's key header and error shape. */
const anthropicRoutes: RouteOptions = { authorization: authorizationOf, render: renderError }

const complete = (ctx: ServerContext, call: MessagesCall, scope: string, passthrough: PassthroughRequest | undefined) =>
  Effect.map(ctx.manager.generate(call.request, { scope, validated: true, passthrough }), (r) =>
    r.native !== undefined
      // an Anthropic deployment answered natively: its JSON as it came (internal/anthropicPassthrough.ts)
      ? jsonText(JSON.stringify(r.native), 200, gatewayHeaders(r.provider, r.model, false, []))
      : jsonText(messageJson(r, messageId()), 200, gatewayHeaders(r.provider, r.model, r.cached, [...call.ignored, ...(r.ignoredFields ?? [])])))

/**
 * The body is read (and checked) as the gateway's request, which every non-Anthropic candidate
 * gets; an Anthropic candidate gets the body itself (notes/http-api.md "Pass-through").
 */
const messages = (ctx: ServerContext) => (request: Request) =>
  jsonRoute(ctx, request, (body) => {
    const call = readMessagesRequest(body, hintsOf(request.headers))
    return isApiError(call) ? call : { call, passthrough: anthropicPassthrough(request, body) }
  }, ({ call, passthrough }, scope): Handled<Scope.Scope> =>
    call.stream ? streamMessages(ctx, call, scope, undefined, passthrough) : complete(ctx, call, scope, passthrough), anthropicRoutes)

/**
 * `count_tokens` with the gateway's tokenizer (gpt-tokenizer): an estimate for any model, which is
 * what Claude Code uses it for (deciding when to compact).
 */
const countTokens = (ctx: ServerContext) => (request: Request) =>
  // the reader needs `max_tokens`, which count_tokens does not take
  jsonRoute(ctx, request, (body) => readMessagesRequest({ max_tokens: 1, ...(body as object) }, hintsOf(request.headers)), (call): Handled =>
    Effect.map(tokenEstimator, (estimator) => {
      const tools = call.request.tools === undefined ? 0 : estimator.countText(JSON.stringify(call.request.tools))
      return jsonText(JSON.stringify({ input_tokens: estimator.countMessages(call.request.messages ?? []) + tools }))
    }), anthropicRoutes)

/**
 * `GET /v1/models[/{id}]` in Anthropic's shape, for a request that carries `anthropic-version`
 * (OpenAIRoutes hands it over: both APIs share the path). Chat models only; `id` is the ref a
 * client sends back as `model`; a bare id is found when exactly one provider lists it.
 */
export const models = (ctx: ServerContext, created: number) => {
  const createdAt = new Date(created * 1000).toISOString()
  const chat = ctx.status.models.filter((m) => !m.embedding)
  const objectOf = (ref: string) => ({ type: "model", id: ref, display_name: ref, created_at: createdAt })
  const list = JSON.stringify({
    data: chat.map((m) => objectOf(m.ref)),
    has_more: false,
    first_id: chat[0]?.ref ?? null,
    last_id: chat.at(-1)?.ref ?? null
  })
  const byName = new Map<string, string>()
  const bare = new Map<string, string | null>()
  for (const m of chat) {
    const body = JSON.stringify(objectOf(m.ref))
    byName.set(m.ref, body)
    bare.set(m.model, bare.has(m.model) ? null : body)
  }
  return (request: Request) =>
    authenticated(ctx, request, (): Handled => {
      const path = request.url.split("?")[0]
      const at = path.indexOf("/models/")
      const encoded = at < 0 ? "" : path.slice(at + "/models/".length)
      if (encoded === "") return Effect.succeed(jsonText(list))
      let name = encoded
      try {
        name = decodeURIComponent(encoded)
      } catch {
        // a malformed escape is looked up as sent
      }
      const body = byName.get(name) ?? bare.get(name)
      return body === undefined || body === null ? Effect.fail(modelNotFound(name)) : Effect.succeed(jsonText(body))
    }, anthropicRoutes)
}

/** Also without the `/v1` prefix, like the OpenAI routes (a base URL given without it keeps working). */
export const routes = (ctx: ServerContext): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const create = messages(ctx)
  const count = countTokens(ctx)
  return (["/v1", ""] as const).flatMap((prefix) => [
    HttpRouter.route("POST", `${prefix}/messages` as const, create),
    HttpRouter.route("POST", `${prefix}/messages/count_tokens` as const, count)
  ])
}
