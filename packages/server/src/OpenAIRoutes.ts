/**
 * The OpenAI-compatible surface: `POST /v1/chat/completions` (JSON or SSE), `POST
 * /v1/embeddings`, `GET /v1/models`, `GET /v1/models/{provider/model}`. Point any OpenAI client at the gateway's `/v1`.
 *
 * The hot path: headers read once, the body parsed once, one hand-written validation pass,
 * one `JSON.stringify` for the answer; no per-request logging or service lookups.
 */
import type { LLMResponse, StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import type { ModelInfo } from "@llm-gateway/core/routing/ModelRouter"
import { Cause, Channel, Effect, Pull, type Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as AnthropicRoutes from "./AnthropicRoutes.ts"
import { envelope, fromLLMError, internalError, modelNotFound, serverShuttingDown } from "./HttpError.ts"
import {
  ChunkEncoder,
  chatCompletionJson,
  type ChatCall,
  completionId,
  type GatewayHints,
  modelRef,
  readChatRequest
} from "./internal/chatWire.ts"
import { authenticated, type Handled, jsonRoute, type ServerContext } from "./internal/context.ts"
import { embeddingsJson, readEmbeddingsRequest } from "./internal/embeddingsWire.ts"
import { jsonText } from "./internal/http.ts"
import { CurrentDrain, ShuttingDown } from "./internal/shutdown.ts"

type Request = HttpServerRequest.HttpServerRequest

const hintsOf = (request: Request): GatewayHints => {
  const h = request.headers
  const cache = h["x-llm-cache"]
  return { task: h["x-llm-task"], strategy: h["x-llm-strategy"], noCache: cache !== undefined && /no-cache|no-store|bypass/i.test(cache) }
}

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

const sseHeaders = { "cache-control": "no-cache", "x-accel-buffering": "no" }

/** The error event that ends a stream which failed after its first chunk (no `[DONE]`). */
const errorEvent = (ctx: ServerContext, cause: Cause.Cause<LLMError | ShuttingDown>): Effect.Effect<string> => {
  const failure = Cause.findErrorOption(cause)
  const e = failure._tag === "None"
    ? internalError
    : failure.value instanceof ShuttingDown
    ? serverShuttingDown
    : fromLLMError(failure.value)
  const line = `data: ${ctx.scrubber.scrub(JSON.stringify(envelope(e)))}\n\n`
  const log = failure._tag === "Some"
    ? Effect.logWarning(ctx.scrubber.scrub(`stream failed after its first chunk: ${e.status} ${e.code}: ${e.message}`))
    : Effect.logError(ctx.scrubber.scrub(`stream failed after its first chunk: ${Cause.pretty(cause)}`))
  return Effect.as(log, line)
}

/** One `Uint8Array` per batch: platform-node writes each emitted array as one socket write. */
const utf8 = (text: string): NonEmptyReadonlyArray<Uint8Array> => [Buffer.from(text, "utf8")]

/**
 * A streamed answer. The first chunk is awaited before the status line: a failure up to then
 * (every candidate failed) is an ordinary error answer with its status code; after it the
 * stream is committed, and a failure ends it with an SSE error event instead of `[DONE]`.
 * The upstream stream lives in the request's scope: a client that disconnects aborts it.
 *
 * The body is one hand-written pull over the manager's pull (not map / concat / catchCause /
 * filter / encodeText, an Effect step each per pull): each batch of chunks becomes one SSE
 * string and one buffer.
 */
const streamChat = (ctx: ServerContext, call: ChatCall, scope: string, startedAt: number, route: boolean) =>
  Effect.gen(function*() {
    const pull = yield* Channel.toPullScoped(
      Stream.toChannel(ctx.manager.generateStream(call.request, { scope, validated: true })),
      yield* Effect.scope
    )
    // past the shutdown grace the stream ends with a `server_shutting_down` error event
    const drain = yield* CurrentDrain
    const first: ReadonlyArray<StreamChunk> = yield* Pull.catchDone(pull, () => Effect.succeed([]))
    const head = first[0]
    const provider = head?.provider ?? ""
    const model = head?.model ?? ""
    const encoder = new ChunkEncoder(
      completionId(),
      Math.floor(Date.now() / 1000),
      modelRef(provider, model),
      call.includeUsage,
      call.request.n ?? 1,
      route
    )
    const headers = {
      ...sseHeaders,
      ...llmHeaders(
        ctx,
        call,
        { provider, model, cached: head?.cached === true, attempts: head?.attempts, ignoredFields: head?.ignoredFields },
        startedAt,
        route
      )
    }
    // an upstream that ended without a chunk still gets the closing frames
    let state: "first" | "streaming" | "end" | "done" = first.length > 0 ? "first" : "end"
    // A batch may encode to nothing (the usage-only last chunk): pull on rather than emit "".
    const onPulled = {
      onSuccess: (text: string): Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown> =>
        text.length === 0 ? body : Effect.succeed(utf8(text)),
      onFailure: (
        cause: Cause.Cause<LLMError | ShuttingDown | Cause.Done>
      ): Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown> => {
        state = "done"
        if (Pull.isDoneCause(cause)) return Effect.sync(() => utf8(encoder.end()))
        const failure = cause as Cause.Cause<LLMError | ShuttingDown>
        return Cause.hasInterruptsOnly(failure) ? Effect.failCause(failure) : Effect.map(errorEvent(ctx, failure), utf8)
      }
    }
    const body: Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown> = Effect.suspend(() => {
      switch (state) {
        case "first":
          state = "streaming"
          return Effect.matchCauseEffect(Effect.sync(() => encoder.chunks(first)), onPulled)
        case "streaming":
          // the encoder runs inside the match: a defect there still ends with an error event
          return Effect.matchCauseEffect(Effect.map(drain.cuttable(pull), (batch) => encoder.chunks(batch)), onPulled)
        case "end":
          state = "done"
          return Effect.sync(() => utf8(encoder.end()))
        case "done":
          return Cause.done()
      }
    })
    return HttpServerResponse.stream(Stream.fromPull(Effect.succeed(body)), { contentType: "text/event-stream; charset=utf-8", headers })
  })

const chatCompletions = (ctx: ServerContext) => (request: Request) => {
  const startedAt = performance.now()
  return jsonRoute(ctx, request, (b) => readChatRequest(b, hintsOf(request)), (call, scope): Handled<Scope.Scope> => {
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
