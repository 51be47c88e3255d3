/**
 * The endpoints of seed 004: `POST /api/v1/llm/generate`, `POST /api/v1/llm/chat` and
 * `GET /api/v1/llm/status`, with the seed's snake_case shapes.
 *
 * `chat` with a `conversation_id` is stateful: the server keeps the history (the conversation
 * store), the request carries only the new turn (`message`, or the last of `messages`; a
 * leading system message is the conversation's system prompt when it is created). Without a
 * `conversation_id`, `messages` is the whole history, as in the seed.
 */
import type { LLMRequest } from "@llm-gateway/core/Domain"
import { Effect } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import { authenticated, type Handled, type ServerContext } from "./internal/context.ts"
import { jsonText } from "./internal/http.ts"
import { generateJson, readChat, readGenerate, resolveTarget, statusJson } from "./internal/seedWire.ts"
import { decodeWith, isApiError } from "./internal/validate.ts"

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
  const model = resolveTarget(call.target, ctx.router.models)
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
  authenticated(ctx, request, (scope) =>
    Effect.flatMap(ctx.readJson(request), (body): Handled => {
      const call = decodeWith(readGenerate, body)
      if (isApiError(call)) return Effect.fail(call)
      const req = seedRequest(ctx, call)
      if (isApiError(req)) return Effect.fail(req)
      return Effect.map(ctx.manager.generate(req, { scope }), (r) => jsonText(generateJson(r)))
    }))

const chat = (ctx: ServerContext) => (request: Request) =>
  authenticated(ctx, request, (scope) =>
    Effect.flatMap(ctx.readJson(request), (body): Handled => {
      const call = decodeWith(readChat, body)
      if (isApiError(call)) return Effect.fail(call)
      const req = seedRequest(ctx, call)
      if (isApiError(req)) return Effect.fail(req)
      if (call.conversationId === undefined) {
        return Effect.map(ctx.manager.generate(req, { scope }), (r) =>
          jsonText(generateJson(r, { conversation_id: null, message: { role: "assistant", content: r.content } })))
      }
      // With gateway keys, each tenant has its own conversation namespace: the same id sent
      // with another key is another conversation, never a window into someone else's.
      const conversationId = ctx.auth.required ? `${scope}:${call.conversationId}` : call.conversationId
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
    }))

const status = (ctx: ServerContext) => (request: Request) =>
  authenticated(ctx, request, () =>
    Effect.map(
      Effect.all([ctx.router.stats, ctx.cache.stats, ctx.manager.usage]),
      ([stats, cache, usage]) =>
        jsonText(ctx.scrubber.scrub(statusJson(stats, cache, usage, (performance.now() - ctx.startedAt) / 1000)))
    ))

export const routes = (ctx: ServerContext): ReadonlyArray<HttpRouter.Route<never, never>> => [
  HttpRouter.route("POST", "/api/v1/llm/generate", generate(ctx)),
  HttpRouter.route("POST", "/api/v1/llm/chat", chat(ctx)),
  HttpRouter.route("GET", "/api/v1/llm/status", status(ctx))
]
