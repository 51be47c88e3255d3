/**
 * The seed endpoints (notes/http-api.md "Seed 004 endpoints"): `POST /api/v1/llm/generate`, `POST /api/v1/llm/chat` and
 * `GET /api/v1/llm/status`, with their snake_case shapes.
 *
 * `chat` with a `conversation_id` is stateful: the server keeps the history (the conversation
 * store), the request carries only the new turn (`message`, or the last of `messages`; a
 * leading system message is the conversation's system prompt when it is created). Without a
 * `conversation_id`, `messages` is the whole history, as in the seed.
 *
 * `GET` / `DELETE /api/v1/llm/conversations/{id}` read and forget such a conversation, within
 * the caller's tenant (another tenant's id is a 404, like an unknown one).
 */
import type { LLMRequest } from "@llm-gateway/core/domain/Domain"
import type { Conversation } from "@llm-gateway/core/conversations/ConversationStorage"
import { Effect } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import { ApiError } from "./HttpError.ts"
import { ADMIN_SCOPE_PREFIX } from "./internal/auth.ts"
import { authenticated, type Handled, jsonRoute, type ServerContext } from "./internal/context.ts"
import { jsonText } from "./internal/http.ts"
import { generateJson, readChat, readGenerate, resolveTarget, statusJson } from "./internal/seedWire.ts"
import { isApiError } from "./internal/validate.ts"

type Request = HttpServerRequest.HttpServerRequest

/** The LLMRequest of a seed-endpoint body (`provider` / `model` resolved to a configured model). */
const seedRequest = (
  ctx: ServerContext,
  call: {
    readonly target: Parameters<typeof resolveTarget>[0]
    readonly messages: LLMRequest["messages"]
    readonly taskType: LLMRequest["taskType"]
    readonly preferences: LLMRequest["preferences"]
    readonly cache: boolean
  }
) => {
  const model = resolveTarget(call.target, ctx.status.models)
  if (isApiError(model)) return model
  const req: LLMRequest = {
    messages: call.messages,
    model,
    taskType: call.taskType,
    preferences: call.preferences,
    cache: call.cache ? undefined : false
  }
  return req
}

const generate = (ctx: ServerContext) => (request: Request) =>
  jsonRoute(ctx, request, readGenerate, (call, scope): Handled => {
    const req = seedRequest(ctx, call)
    if (isApiError(req)) return Effect.fail(req)
    return Effect.map(ctx.manager.generate(req, { scope }), (r) => jsonText(generateJson(r)))
  })

const chat = (ctx: ServerContext) => (request: Request) =>
  jsonRoute(ctx, request, readChat, (call, scope): Handled => {
    const req = seedRequest(ctx, call)
    if (isApiError(req)) return Effect.fail(req)
    if (call.conversationId === undefined) {
      return Effect.map(ctx.manager.generate(req, { scope }), (r) =>
        jsonText(generateJson(r, { conversation_id: null, message: { role: "assistant", content: r.content } })))
    }
    const conversationId = storedId(ctx, scope, call.conversationId)
    const clientId = call.conversationId
    const turn = call.messages[call.messages.length - 1]
    const system = call.messages[0].role === "system" && call.messages.length > 1 ? call.messages[0].content : undefined
    return Effect.map(
      ctx.manager.chat(conversationId, turn, {
        scope,
        model: req.model,
        taskType: call.taskType,
        preferences: call.preferences,
        system
      }),
      (r) =>
        jsonText(generateJson(r, {
          conversation_id: clientId,
          message: { role: "assistant", content: r.content }
        }))
    )
  })

/**
 * With gateway keys, each tenant has its own conversation namespace: the same id sent with
 * another key is another conversation, never a window into someone else's.
 */
const storedId = (ctx: ServerContext, scope: string, id: string) => (ctx.auth.required ? `${scope}:${id}` : id)

const conversationNotFound = (id: string) =>
  new ApiError({
    status: 404,
    type: "InvalidRequest",
    code: "conversation_not_found",
    message: `conversation ${JSON.stringify(id)} not found`,
    param: "conversation_id"
  })

const conversationJson = (id: string, c: Conversation) =>
  JSON.stringify({
    conversation_id: id,
    created_at: Math.floor(c.createdAt / 1000),
    updated_at: Math.floor(c.updatedAt / 1000),
    message_count: c.messages.length,
    messages: c.messages.map((m) => ({ role: m.role, content: m.content }))
  })

const conversation = (ctx: ServerContext, remove: boolean) => (request: Request) =>
  authenticated(ctx, request, (scope) =>
    Effect.flatMap(HttpRouter.params, (params): Handled => {
      const id = params.id ?? ""
      const stored = storedId(ctx, scope, id)
      const found = remove
        ? Effect.as(ctx.manager.deleteConversation(stored, { scope }), jsonText(JSON.stringify({ conversation_id: id, deleted: true })))
        : Effect.map(ctx.manager.getConversation(stored, { scope }), (c) => jsonText(conversationJson(id, c)))
      return Effect.catchTag(found, "ConversationNotFound", () => Effect.fail(conversationNotFound(id)))
    }))

/**
 * Usage comes from the ledger, so it survives restarts and adds up across instances; it is the
 * caller's own (each gateway key its own tenant), every tenant's only for an admin key.
 */
const status = (ctx: ServerContext) => (request: Request) =>
  authenticated(ctx, request, (scope) =>
    Effect.map(
      Effect.all([
        ctx.status.stats,
        ctx.governance.ledger.query({ scope: scope.startsWith(ADMIN_SCOPE_PREFIX) ? undefined : scope, from: 0, to: Date.now() + 1 })
      ]),
      ([stats, report]) =>
        jsonText(ctx.scrubber.scrub(statusJson(
          stats.router,
          stats.cache,
          [{ provider: "", model: "", task: "", scope, cachedRequests: 0, ...report.totals }],
          (performance.now() - ctx.startedAt) / 1000
        )))
    ))

export const routes = (ctx: ServerContext): ReadonlyArray<HttpRouter.Route<never, never>> => [
  HttpRouter.route("POST", "/api/v1/llm/generate", generate(ctx)),
  HttpRouter.route("POST", "/api/v1/llm/chat", chat(ctx)),
  HttpRouter.route("GET", "/api/v1/llm/status", status(ctx)),
  HttpRouter.route("GET", "/api/v1/llm/conversations/:id", conversation(ctx, false)),
  HttpRouter.route("DELETE", "/api/v1/llm/conversations/:id", conversation(ctx, true))
]
