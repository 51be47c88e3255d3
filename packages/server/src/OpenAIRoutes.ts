/**
 * The OpenAI-compatible surface: `POST /v1/chat/completions` (JSON or SSE), `POST
 * /v1/embeddings`, `GET /v1/models`, `GET /v1/models/{provider/model}`. Point any OpenAI client at the gateway's `/v1`.
 *
 * The hot path: headers read once, the body parsed once, one hand-written validation pass,
 * one `JSON.stringify` for the answer; no per-request logging or service lookups.
 */
import type { LLMResponse } from "@llm-gateway/core/domain/Domain"
import type { ModelInfo } from "@llm-gateway/core/routing/ModelRouter"
import { Effect, type Scope } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import * as AnthropicRoutes from "./AnthropicRoutes.ts"
import { envelope, modelNotFound } from "./HttpError.ts"
import {
  ChunkEncoder,
  chatCompletionJson,
  type ChatCall,
  completionId,
  hintsOf,
  modelRef,
  readChatRequest
} from "./internal/chatWire.ts"
import { authenticated, type Handled, jsonRoute, type ServerContext } from "./internal/context.ts"
import { embeddingsJson, readEmbeddingsRequest } from "./internal/embeddingsWire.ts"
import { jsonText } from "./internal/http.ts"
import { type SseEncoder, sseResponse } from "./internal/sseStream.ts"

type Request = HttpServerRequest.HttpServerRequest

/** `x-llm-route: include` (the console sends it): per-attempt route header and `usage.cost_usd`. */
const wantsRoute = (request: Request): boolean => request.headers["x-llm-route"] === "include"

/** Header values come from config and upstream answers: keep them to visible ASCII. */
const headerSafe = (s: string): string => (/^[\x20-\x7e]*$/.test(s) ? s : s.replace(/[^\x20-\x7e]/g, ""))

interface Outcome {
  readonly provider: string
  readonly model: string
  readonly cached: boolean
  readonly attempts: LLMResponse["attempts"] | undefined
  readonly ignoredFields?: ReadonlyArray<string> | undefined
}

/**
 * The `x-llm-*` response headers. `x-llm-overhead-ms` is the time the request spent in the
 * gateway outside upstream calls: total (to the first chunk for a stream) minus the time of
 * every upstream attempt.
 */
const llmHeaders = (
  ctx: ServerContext,
  call: ChatCall | undefined,
  o: Outcome,
  startedAt: number,
  route = false
): Record<string, string> => {
  let tries = 0
  let upstreamMs = 0
  if (!o.cached && o.attempts !== undefined) {
    for (const a of o.attempts) {
      if (a.outcome.startsWith("skipped:")) continue
      tries++
      upstreamMs += a.ms
    }
  }
  const bypass = call?.request.cache === false || !ctx.config.cache.enabled
  const headers: Record<string, string> = {
    "x-llm-provider": headerSafe(o.provider),
    "x-llm-model": headerSafe(o.model),
    "x-llm-cache": o.cached ? "hit" : bypass ? "bypass" : "miss",
    "x-llm-attempts": String(tries),
    "x-llm-overhead-ms": Math.max(0, performance.now() - startedAt - upstreamMs).toFixed(1)
  }
  // request fields the answering provider could not use (and that do not change the answer)
  if (o.ignoredFields !== undefined && o.ignoredFields.length > 0) {
    headers["x-llm-ignored-fields"] = headerSafe(o.ignoredFields.join(","))
  }
  // every attempt as `model;outcome;ms`, skipped candidates included (with why they were skipped)
  if (route && o.attempts !== undefined && o.attempts.length > 0) {
    headers["x-llm-route"] = headerSafe(o.attempts.map((a) => `${a.model};${a.outcome};${a.ms.toFixed(1)}`).join(", "))
  }
  return headers
}

const completeChat = (ctx: ServerContext, call: ChatCall, scope: string, startedAt: number, route: boolean) =>
  Effect.map(ctx.manager.generate(call.request, { scope, validated: true }), (r) =>
    jsonText(
      chatCompletionJson(r, completionId(), Math.floor(Date.now() / 1000), route),
      200,
      llmHeaders(ctx, call, r, startedAt, route)
    ))

/**
 * A streamed answer, through the shared SSE driver (internal/sseStream.ts): chat chunks, `[DONE]`
 * at the end, and OpenAI's error envelope as a `data:` line when the stream fails after its first chunk.
 */
const streamChat = (ctx: ServerContext, call: ChatCall, scope: string, startedAt: number, route: boolean) =>
  sseResponse(ctx, ctx.manager.generateStream(call.request, { scope, validated: true }), (head) => {
    const provider = head?.provider ?? ""
    const model = head?.model ?? ""
    const chunks = new ChunkEncoder(
      completionId(),
      Math.floor(Date.now() / 1000),
      modelRef(provider, model),
      call.includeUsage,
      call.request.n ?? 1,
      route
    )
    const encoder: SseEncoder = {
      start: () => "",
      chunks: (batch) => chunks.chunks(batch),
      end: () => chunks.end(),
      error: (e) => `data: ${JSON.stringify(envelope(e))}\n\n`
    }
    const outcome = { provider, model, cached: head?.cached === true, attempts: head?.attempts, ignoredFields: head?.ignoredFields }
    return { encoder, headers: llmHeaders(ctx, call, outcome, startedAt, route) }
  })

const chatCompletions = (ctx: ServerContext) => (request: Request) => {
  const startedAt = performance.now()
  return jsonRoute(ctx, request, (b) => readChatRequest(b, hintsOf(request.headers)), (call, scope): Handled<Scope.Scope> => {
    const route = wantsRoute(request)
    return call.stream ? streamChat(ctx, call, scope, startedAt, route) : completeChat(ctx, call, scope, startedAt, route)
  })
}

const embeddings = (ctx: ServerContext) => (request: Request) =>
  jsonRoute(ctx, request, readEmbeddingsRequest, (call, scope): Handled =>
    Effect.map(ctx.manager.embed(call.input, { model: call.model, dimensions: call.dimensions, scope }), (r) =>
      jsonText(embeddingsJson(r, call.base64), 200, {
        "x-llm-provider": headerSafe(r.provider),
        "x-llm-model": headerSafe(r.model)
      })))

/** OpenAI's Model object, plus what the gateway knows about the deployment. */
const modelObject = (m: ModelInfo, created: number) => ({
  id: m.ref,
  object: "model",
  created,
  owned_by: m.provider,
  provider_type: m.type,
  context_window: m.contextWindow ?? null,
  embedding: m.embedding
})

/** The model list never changes while the server runs: rendered once. */
const modelsJson = (ctx: ServerContext, created: number): string =>
  JSON.stringify({ object: "list", data: ctx.status.models.map((m) => modelObject(m, created)) })

/**
 * `GET /v1/models` and `GET /v1/models/{model}` (one wildcard route: the router declares both
 * paths for it). Refs hold a slash (`openai/gpt-4o-mini`), which clients send URL-encoded
 * (`openai%2Fgpt-4o-mini`, as the official SDKs do) or as is: the handler takes the rest of the
 * path and decodes it. A bare id is found when exactly one provider lists it.
 */
const models = (ctx: ServerContext, created: number) => {
  const list = modelsJson(ctx, created)
  const byName = new Map<string, string>()
  const bare = new Map<string, string | null>()
  for (const m of ctx.status.models) {
    const body = JSON.stringify(modelObject(m, created))
    byName.set(m.ref, body)
    bare.set(m.model, bare.has(m.model) ? null : body)
  }
  const anthropic = AnthropicRoutes.models(ctx, created)
  return (request: Request) =>
    // Anthropic's SDKs share the path: they send `anthropic-version` and get Anthropic's shape
    request.headers["anthropic-version"] !== undefined ? anthropic(request) : authenticated(ctx, request, () => {
      const path = request.url.split("?")[0]
      const at = path.indexOf("/models/")
      const encoded = at < 0 ? "" : path.slice(at + "/models/".length)
      if (encoded === "") return Effect.succeed(jsonText(list))
      let name: string
      try {
        name = decodeURIComponent(encoded)
      } catch {
        name = encoded
      }
      const body = byName.get(name) ?? bare.get(name)
      return body === undefined || body === null ? Effect.fail(modelNotFound(name)) : Effect.succeed(jsonText(body))
    })
}

/**
 * Each route also answers without the `/v1` prefix, as OpenAI-compatible servers commonly do
 * (clients configured with a bare base URL keep working).
 */
export const routes = (ctx: ServerContext): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const chat = chatCompletions(ctx)
  const embed = embeddings(ctx)
  // One `created` for every model: the time this server learnt of them.
  const created = Math.floor(Date.now() / 1000)
  const list = models(ctx, created)
  return (["/v1", ""] as const).flatMap((prefix) => [
    HttpRouter.route("POST", `${prefix}/chat/completions` as const, chat),
    HttpRouter.route("POST", `${prefix}/embeddings` as const, embed),
    HttpRouter.route("GET", `${prefix}/models/*` as const, list)
  ])
}
