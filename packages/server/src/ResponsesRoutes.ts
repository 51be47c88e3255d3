/**
 * OpenAI's Responses API on the gateway: `POST /v1/responses` (JSON or SSE), `GET` and `DELETE
 * /v1/responses/{id}`, so Responses clients (Codex, the OpenAI Agents SDK, the Vercel AI SDK's
 * default OpenAI provider) reach every configured model. Errors are the OpenAI envelope of the
 * other OpenAI routes (notes/http-api.md "Responses API").
 *
 * The request is translated to the gateway's `LLMRequest` and answered by whichever provider the
 * router picks; the stored thread (`store`, `previous_response_id`) lives in the conversation
 * store, so any instance sharing it continues a thread.
 */
import type { ChatMessage, LLMResponse, StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { PassthroughRequest } from "@llm-gateway/core/providers/Passthrough"
import { Effect, type Scope, Stream } from "effect"
import { HttpRouter, type HttpServerRequest, type HttpServerResponse } from "effect/http"
import { ApiError } from "./HttpError.ts"
import { gatewayHeaders } from "./internal/anthropicWire.ts"
import { hintsOf } from "./internal/chatWire.ts"
import { authenticated, type Failure, jsonRoute, type ServerContext } from "./internal/context.ts"
import { jsonText } from "./internal/http.ts"
import { toolNames } from "./internal/responsesItems.ts"
import { deleteResponse, loadResponse, outputMessages, saveResponse } from "./internal/responsesStore.ts"
import { ResponsesEncoder } from "./internal/responsesStream.ts"
import {
  newId,
  outputItems,
  previousResponseNotFound,
  type ResponsesCall,
  readResponsesRequest,
  responseModel,
  responseNotFound,
  responseObject,
  visibleItems,
  withToolNames
} from "./internal/responsesWire.ts"
import { NativeResponsesEncoder, responsesPassthrough, saveNative } from "./internal/responsesPassthrough.ts"
import { sseResponse } from "./internal/sseStream.ts"

type Request = HttpServerRequest.HttpServerRequest

/** The request as sent upstream, and the thread this answer continues (stored with it). */
interface Turn {
  readonly call: ResponsesCall
  /** The thread before this answer: the stored one and this request's input. */
  readonly thread: ReadonlyArray<ChatMessage>
}

/** Resolves `previous_response_id`: its stored thread goes before this request's input. */
const resolveTurn = (ctx: ServerContext, call: ResponsesCall, scope: string): Effect.Effect<Turn, Failure> => {
  const id = call.previousResponseId
  if (id === undefined) return Effect.succeed({ call, thread: call.input })
  return Effect.flatMap(loadResponse(ctx, scope, id), (stored) => {
    if (stored === undefined) return Effect.fail(previousResponseNotFound(id))
    const thread = [...stored.thread, ...withToolNames(call.input, toolNames(stored.thread))]
    const messages = call.instructions === undefined ? thread : [call.instructions, ...thread]
    return Effect.succeed({ call: { ...call, request: { ...call.request, messages } }, thread })
  })
}

const headersOf = (call: ResponsesCall, provider: string, model: string, cached: boolean, ignored: ReadonlyArray<string> | undefined) =>
  gatewayHeaders(provider, model, cached, [...call.ignored, ...(ignored ?? [])])

const complete = (ctx: ServerContext, { call, thread }: Turn, scope: string, passthrough: PassthroughRequest | undefined) =>
  Effect.flatMap(ctx.manager.generate(call.request, { scope, validated: true, passthrough }), (r: LLMResponse) => {
    // OpenAI answered natively: its Response as it came, stored like ours (internal/responsesPassthrough.ts)
    if (r.native !== undefined) {
      const answer = jsonText(JSON.stringify(r.native), 200, gatewayHeaders(r.provider, r.model, false, []))
      return Effect.as(saveNative(ctx, scope, call, thread, r.native), answer)
    }
    const incomplete = r.finishReason === "length"
    const items = outputItems(r, call, incomplete)
    const state = {
      id: newId("resp"),
      createdAt: Math.floor(Date.now() / 1000),
      model: responseModel(r.provider, r.model),
      status: incomplete ? "incomplete" as const : "completed" as const,
      output: visibleItems(items, call),
      usage: r.usage
    }
    const response = responseObject(state, call.echo)
    const answer = jsonText(JSON.stringify(response), 200, headersOf(call, r.provider, r.model, r.cached, r.ignoredFields))
    return call.store
      ? Effect.as(saveResponse(ctx, scope, state.id, [...thread, ...outputMessages(items)], response), answer)
      : Effect.succeed(answer)
  })

const streamed = (ctx: ServerContext, { call, thread }: Turn, scope: string, passthrough: PassthroughRequest | undefined) => {
  const id = newId("resp")
  const createdAt = Math.floor(Date.now() / 1000)
  let encoder: ResponsesEncoder | undefined
  let native: NativeResponsesEncoder | undefined
  // when the upstream ends, before `response.completed` is written: a client that sends its
  // follow-up as soon as it sees that event finds this response stored
  const store = Effect.suspend(() => {
    if (native !== undefined) return saveNative(ctx, scope, call, thread, native.final())
    if (encoder === undefined || !call.store) return Effect.void
    const state = encoder.settle()
    const response = responseObject({ ...state, output: visibleItems(state.output, call) }, call.echo)
    return saveResponse(ctx, scope, id, [...thread, ...outputMessages(state.output)], response)
  })
  const stream = ctx.manager.generateStream(call.request, { scope, validated: true, passthrough }).pipe(Stream.onEnd(store))
  return sseResponse(ctx, stream, (head: StreamChunk | undefined) => {
    const provider = head?.provider ?? ""
    const model = head?.model ?? ""
    // OpenAI answered natively: its events as they came (internal/responsesPassthrough.ts)
    if (head?.native !== undefined) {
      native = new NativeResponsesEncoder()
      return { encoder: native, headers: gatewayHeaders(provider, model, false, []) }
    }
    encoder = new ResponsesEncoder(call, id, createdAt, responseModel(provider, model))
    return { encoder, headers: headersOf(call, provider, model, head?.cached === true, head?.ignoredFields) }
  })
}

/** The request read, and the body as sent (what an OpenAI deployment gets passed through). */
const readWithBody = (request: Request) => {
  const read = readResponsesRequest(hintsOf(request.headers))
  return (body: unknown) => {
    const call = read(body)
    return call instanceof ApiError ? call : { call, passthrough: responsesPassthrough(request, body, call) }
  }
}

const create = (ctx: ServerContext) => (request: Request) =>
  jsonRoute(ctx, request, readWithBody(request), ({ call, passthrough }, scope) =>
    Effect.flatMap(resolveTurn(ctx, call, scope), (turn): Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, Scope.Scope> =>
      call.stream ? streamed(ctx, turn, scope, passthrough) : complete(ctx, turn, scope, passthrough)))

const idOf = (request: Request): string => {
  const path = request.url.split("?")[0]
  const raw = path.slice(path.lastIndexOf("/") + 1)
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

const retrieve = (ctx: ServerContext) => (request: Request) =>
  authenticated(ctx, request, (scope) => {
    const id = idOf(request)
    return Effect.flatMap(loadResponse(ctx, scope, id), (stored) =>
      stored === undefined ? Effect.fail(responseNotFound(id)) : Effect.succeed(jsonText(stored.response)))
  })

const remove = (ctx: ServerContext) => (request: Request) =>
  authenticated(ctx, request, (scope) => {
    const id = idOf(request)
    return Effect.flatMap(deleteResponse(ctx, scope, id), (deleted) =>
      deleted ? Effect.succeed(jsonText(JSON.stringify({ id, object: "response.deleted", deleted: true }))) : Effect.fail(responseNotFound(id)))
  })

/** Also without the `/v1` prefix, like the other OpenAI routes. */
export const routes = (ctx: ServerContext): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const post = create(ctx)
  const get = retrieve(ctx)
  const del = remove(ctx)
  return (["/v1", ""] as const).flatMap((prefix) => [
    HttpRouter.route("POST", `${prefix}/responses` as const, post),
    HttpRouter.route("GET", `${prefix}/responses/:id` as const, get),
    HttpRouter.route("DELETE", `${prefix}/responses/:id` as const, del)
  ])
}
