/**
 * `ModelClient` on the official `ollama` SDK (Ollama's native `/api/*` endpoints).
 *
 * Each call gets its own SDK instance over a fetch wrapper that
 * - forces the call's AbortSignal onto every request: the SDK passes no signal for non-streamed
 *   requests, and interrupting the fiber must still close the upstream connection;
 * - keeps the headers of a failed answer (the SDK's `ResponseError` drops them) so the error
 *   table can read `retry-after` and `x-should-retry`;
 * - turns a non-JSON error body (a proxy's HTML page) into Ollama's `{"error": ...}` shape, which
 *   keeps the SDK from logging to the console.
 * The SDK never retries; the router owns retries and fallbacks.
 *
 * Tools, tool calls, images and thinking map as notes/rich-messages.md says
 * (`internal/messages.ts`). A request that needs tools, vision or thinking first asks
 * `/api/show` for the model's capabilities (once per model); a model without one gets an
 * InvalidRequest naming the field or part instead of Ollama's generic 400.
 */
import type { ProviderEntry } from "@llm-gateway/core/config/ConfigSchema"
import { type EmbeddingRequest, isTokenInput, type ProviderRequest, type StreamChunk } from "@llm-gateway/core/domain/Domain"
import { type FinishReason, makeUsage, messageText, type ProviderResponse } from "@llm-gateway/core/domain/Domain"
import { ConfigurationError, describe, InvalidRequest, type LLMError, TimeoutError } from "@llm-gateway/core/domain/LLMError"
import { traceparentOf } from "@llm-gateway/core/metrics/GenAiSpans"
import { ModelClient, type ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import type { FieldPolicy } from "@llm-gateway/core/providers/RequestFields"
import { Clock, Duration, Effect, Layer, Redacted, type Scope, Stream } from "effect"
import { type ChatRequest, type ChatResponse, Ollama, type Options } from "ollama"
import { toLLMError } from "./internal/errors.ts"
import { callDelta, type PartRefused, partsOf, toOllamaMessages, toOllamaTools, toThink } from "./internal/messages.ts"
import { tokensOfChars } from "@llm-gateway/core/accounting/TokenEstimator"

/** An entry of `type: ollama`: the common fields only (what this client reads). */
export type OllamaConfig = ProviderEntry<"ollama">

export interface OllamaClientOptions {
  /** The fetch every request goes through (e.g. one on an undici Pool); global fetch by default. */
  readonly fetch?: typeof globalThis.fetch
  /**
   * Limit of one non-streamed call, and of the wait for a stream's first byte and for each
   * following chunk (default 600 s, as the OpenAI SDK). The router's attempt timeout is
   * usually shorter; this is the client's own safety net.
   */
  readonly timeoutMs?: number
  /** Limit of the health probe (default 5 s). */
  readonly healthTimeoutMs?: number
}

export const DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
const DEFAULT_TIMEOUT_MS = 600_000
const DEFAULT_HEALTH_TIMEOUT_MS = 5_000
const MAX_ERROR_TEXT = 500

/**
 * Ollama's native API hangs off the server root; users often paste the OpenAI-compatible
 * `…/v1` base (or `…/api`) instead, so both suffixes are dropped.
 */
export const ollamaHost = (baseUrl: string | undefined): string | undefined => {
  const raw = (baseUrl ?? DEFAULT_OLLAMA_URL).trim()
  try {
    const url = new URL(raw)
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
    url.pathname = url.pathname.replace(/\/+$/, "").replace(/\/(v1|api)$/, "")
    url.search = ""
    url.hash = ""
    return url.toString().replace(/\/+$/, "")
  } catch {
    return undefined
  }
}

const mapFinishReason = (reason: string | undefined): FinishReason => {
  switch (reason) {
    case undefined:
    case "":
    case "stop":
      return "stop"
    case "length":
      return "length"
    default:
      return "unknown"
  }
}

/**
 * The field rule (core RequestFields): OpenAI's `seed` and penalties are Ollama options of the
 * same name; the rest is ignored, or refused when it changes the answer.
 */
export const fieldPolicy: FieldPolicy = { otherwise: "drop", mapped: ["seed", "frequency_penalty", "presence_penalty"] }

const mappedOptions = ["seed", "frequency_penalty", "presence_penalty"] as const

interface ChatPlan {
  readonly chat: ChatRequest
  /** Where the request's images are (to name one if the model has no vision). */
  readonly images: ReadonlyArray<string>
}

const toChatRequest = (req: ProviderRequest, modelRef: string): ChatPlan | PartRefused => {
  const options: Partial<Options> = {}
  if (req.extra !== undefined) {
    for (const name of mappedOptions) {
      const value = req.extra[name]
      if (typeof value === "number") options[name] = value
    }
  }
  if (req.maxTokens !== undefined) options.num_predict = req.maxTokens
  if (req.temperature !== undefined) options.temperature = req.temperature
  if (req.topP !== undefined) options.top_p = req.topP
  if (req.stop !== undefined && req.stop.length > 0) options.stop = [...req.stop]
  const format = req.responseFormat === undefined
    ? undefined
    : req.responseFormat.type === "json_object"
    ? "json"
    : req.responseFormat.schema
  const converted = toOllamaMessages(req.messages, modelRef)
  if ("param" in converted) return converted
  const tools = toOllamaTools(req)
  const think = toThink(req)
  return {
    images: converted.images,
    chat: {
      model: req.model,
      messages: converted.messages,
      ...(tools !== undefined ? { tools } : {}),
      ...(think !== undefined ? { think } : {}),
      ...(Object.keys(options).length > 0 ? { options } : {}),
      ...(format !== undefined ? { format } : {})
    }
  }
}

/**
 * What the model cannot take, by its `/api/show` capabilities: tools, images (vision) or
 * thinking, as an InvalidRequest naming the field or part. Unknown capabilities pass.
 */
const capabilityRefusal = (plan: ChatPlan, capabilities: ReadonlyArray<string> | undefined, model: string): InvalidRequest | undefined => {
  if (capabilities === undefined) return undefined
  const refuse = (param: string, what: string) =>
    new InvalidRequest({ model, param, message: `${param}: ${what} not supported by ${model} (its capabilities: ${capabilities.join(", ")})` })
  if ((plan.chat.tools?.length ?? 0) > 0 && !capabilities.includes("tools")) return refuse("tools", "tools are")
  if (plan.images.length > 0 && !capabilities.includes("vision")) return refuse(plan.images[0]!, "image input is")
  if (plan.chat.think !== undefined && plan.chat.think !== false && !capabilities.includes("thinking")) return refuse("reasoning", "thinking is")
  return undefined
}

/** Ollama embeds texts only: token-id inputs are OpenAI's. */
const tokenInputRefused = (model: string) =>
  new InvalidRequest({ model, param: "input", message: `'input' as token arrays is not supported by ${model}; send strings` })

/** Roughly 4 characters a token: used only when a context error carries no count. */
const estimateTokens = (texts: ReadonlyArray<string>) => tokensOfChars(texts.reduce((n, t) => n + t.length, 0))
const promptTexts = (req: ProviderRequest) => req.messages.map(messageText)

const usageOf = (res: Pick<ChatResponse, "prompt_eval_count" | "eval_count">) =>
  makeUsage(res.prompt_eval_count ?? 0, res.eval_count ?? 0)

interface Call {
  readonly ollama: Ollama
  readonly controller: AbortController
  /** Headers of the last non-2xx answer. */
  failedHeaders: Headers | undefined
  /** The upstream finished its answer: nothing left to abort. */
  done: boolean
}

/**
 * Builds the Ollama client. Requests still running when the scope closes are aborted.
 * Fails with ConfigurationError for a provider of another type or an unusable `baseUrl`.
 */
export const makeOllamaClient = Effect.fn("makeOllamaClient")(function*(
  config: OllamaConfig,
  options: OllamaClientOptions = {}
): Effect.fn.Return<ModelClientShape, ConfigurationError, Scope.Scope> {
  if (config.type !== "ollama") {
    return yield* new ConfigurationError({ message: `not an ollama provider: ${config.type}`, path: "type" })
  }
  const host = ollamaHost(config.baseUrl)
  if (host === undefined) {
    return yield* new ConfigurationError({ message: "baseUrl is not an http(s) URL", path: "baseUrl" })
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS
  const baseFetch = options.fetch ?? globalThis.fetch
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(config.headers ?? {})) headers[k] = Redacted.value(v)
  // Ollama itself has no keys, but it often sits behind an authenticating proxy (or is ollama.com).
  if (config.apiKey !== undefined) headers["Authorization"] = `Bearer ${Redacted.value(config.apiKey)}`
  // a proxy in front of Ollama may echo them back in an error body
  const secrets = [...Object.values(config.headers ?? {}).map(Redacted.value), ...(config.apiKey ? [Redacted.value(config.apiKey)] : [])]

  const inflight = new Set<AbortController>()
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const c of inflight) c.abort()
      inflight.clear()
    })
  )

  const fetchFor = (call: Call): typeof globalThis.fetch => async (input, init) => {
    const response = await baseFetch(input, { ...init, signal: call.controller.signal })
    if (response.ok) return response
    call.failedHeaders = response.headers
    if (response.headers.get("content-type")?.includes("application/json")) return response
    const text = (await response.text()).trim().slice(0, MAX_ERROR_TEXT)
    return new Response(JSON.stringify({ error: text || `${response.status} ${response.statusText}`.trim() }), {
      status: response.status,
      statusText: response.statusText,
      headers: { "content-type": "application/json" }
    })
  }

  const openCall = Effect.acquireRelease(
    Effect.withFiber((fiber) => {
      const controller = new AbortController()
      inflight.add(controller)
      // the gateway's upstream span, when tracing is on (W3C trace context)
      const tp = traceparentOf(fiber)
      const call: Call = {
        controller,
        failedHeaders: undefined,
        done: false,
        ollama: new Ollama({
          host,
          headers: tp === undefined ? headers : { ...headers, traceparent: tp },
          fetch: (input, init) => fetchFor(call)(input, init)
        })
      }
      return Effect.succeed(call)
    }),
    (call) =>
      Effect.sync(() => {
        inflight.delete(call.controller)
        // an unfinished answer (interrupted, timed out, consumer stopped early): close the connection
        if (!call.done) call.controller.abort()
      })
  )

  const modelRef = (model: string) => `${config.name}/${model}`
  const timeoutError = (model: string, ms: number) =>
    new TimeoutError({ model: modelRef(model), timeoutMs: ms, message: `no answer within ${ms} ms` })
  const mapError = (call: Call, model: string, ms: number, estimatedTokens?: number) => (error: unknown): LLMError =>
    toLLMError(error, { model: modelRef(model), timeoutMs: ms, headers: call.failedHeaders, estimatedTokens, secrets })

  /** One non-streamed SDK call, aborted on interruption or timeout. */
  const request = <A>(model: string, ms: number, estimatedTokens: number | undefined, f: (o: Ollama) => Promise<A>) =>
    Effect.scoped(
      Effect.gen(function*() {
        const call = yield* openCall
        const result = yield* Effect.tryPromise({
          try: () => f(call.ollama),
          catch: mapError(call, model, ms, estimatedTokens)
        })
        call.done = true
        return result
      })
    ).pipe(Effect.timeoutOrElse({ duration: Duration.millis(ms), orElse: () => Effect.fail(timeoutError(model, ms)) }))

  /** `/api/show` capabilities per model, once known (a failed lookup is retried next time). */
  const capabilities = new Map<string, ReadonlyArray<string>>()
  const capabilitiesOf = (model: string) =>
    capabilities.has(model)
      ? Effect.succeed(capabilities.get(model))
      : request(model, healthTimeoutMs, undefined, (o) => o.show({ model })).pipe(
        Effect.map((show) => {
          const caps = Array.isArray(show.capabilities) ? show.capabilities : undefined
          if (caps !== undefined) capabilities.set(model, caps)
          return caps
        }),
        // an older Ollama, or a proxy without /api/show: unknown, so assumed capable
        Effect.orElseSucceed(() => undefined)
      )

  /** The SDK request, after the parts and the model's capabilities are checked. */
  const planFor = (req: ProviderRequest) =>
    Effect.gen(function*() {
      const ref = modelRef(req.model)
      const plan = toChatRequest(req, ref)
      if ("param" in plan) return yield* new InvalidRequest({ model: ref, param: plan.param, message: plan.message })
      const needsCapabilities = (plan.chat.tools?.length ?? 0) > 0 || plan.images.length > 0 || (plan.chat.think ?? false) !== false
      if (needsCapabilities) {
        const refused = capabilityRefusal(plan, yield* capabilitiesOf(req.model), ref)
        if (refused !== undefined) return yield* refused
      }
      return plan.chat
    })

  const generate = Effect.fn("OllamaClient.generate")(function*(req: ProviderRequest) {
    const chat = yield* planFor(req)
    const res = yield* request(req.model, timeoutMs, estimateTokens(promptTexts(req)), (o) => o.chat({ ...chat, stream: false }))
    const parts = partsOf(res.message)
    const response: ProviderResponse = {
      content: res.message?.content ?? "",
      model: res.model || req.model,
      usage: usageOf(res),
      // Ollama says "stop" after tool calls too
      finishReason: (res.message?.tool_calls?.length ?? 0) > 0 ? "tool_calls" : mapFinishReason(res.done_reason),
      ...(parts !== undefined ? { parts } : {})
    }
    return response
  })

  const stream = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(
      Effect.gen(function*() {
        const chat = yield* planFor(req)
        const call = yield* openCall
        const onError = mapError(call, req.model, timeoutMs, estimateTokens(promptTexts(req)))
        const parts = yield* Effect.tryPromise({
          try: () => call.ollama.chat({ ...chat, stream: true }),
          catch: onError
        }).pipe(
          Effect.timeoutOrElse({ duration: Duration.millis(timeoutMs), orElse: () => Effect.fail(timeoutError(req.model, timeoutMs)) })
        )
        let calls = 0
        return Stream.fromAsyncIterable(parts, onError).pipe(
          Stream.timeoutOrElse({
            duration: Duration.millis(timeoutMs),
            orElse: () => Stream.fail(timeoutError(req.model, timeoutMs))
          }),
          Stream.map((part): StreamChunk | undefined => {
            const delta = part.message?.content ?? ""
            const thinking = part.message?.thinking ?? ""
            const toolCallDeltas = (part.message?.tool_calls ?? []).map((c) => callDelta(c, calls++))
            const extra = {
              ...(thinking.length > 0 ? { reasoningDelta: thinking } : {}),
              ...(toolCallDeltas.length > 0 ? { toolCallDeltas } : {})
            }
            if (!part.done) return delta.length > 0 || Object.keys(extra).length > 0 ? { delta, ...extra } : undefined
            call.done = true
            const finishReason = calls > 0 ? "tool_calls" : mapFinishReason(part.done_reason)
            return { delta, ...extra, usage: usageOf(part), finishReason }
          }),
          Stream.filter((chunk): chunk is StreamChunk => chunk !== undefined)
        )
      })
    ).pipe(Stream.withSpan("OllamaClient.stream"))

  const embed = Effect.fn("OllamaClient.embed")(function*(req: EmbeddingRequest) {
    if (isTokenInput(req.input)) return yield* tokenInputRefused(modelRef(req.model))
    const texts = req.input as ReadonlyArray<string>
    const res = yield* request(req.model, timeoutMs, estimateTokens(texts), (o) =>
      o.embed({
        model: req.model,
        input: [...texts],
        // Ollama (0.11+) truncates the vector itself, as OpenAI's `dimensions` does
        ...(req.dimensions !== undefined ? { dimensions: req.dimensions } : {})
      }))
    return {
      model: res.model || req.model,
      embeddings: res.embeddings,
      usage: makeUsage(res.prompt_eval_count ?? 0, 0)
    }
  })

  const health = Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const result = yield* Effect.result(request("*", healthTimeoutMs, undefined, (o) => o.list()))
    const latencyMs = (yield* Clock.currentTimeMillis) - start
    return result._tag === "Success"
      ? { healthy: true, latencyMs, models: result.success.models.map((m) => m.name) }
      : { healthy: false, latencyMs, error: describe(result.failure) }
  }).pipe(Effect.withSpan("OllamaClient.health"))

  return { provider: config.name, type: "ollama", fields: fieldPolicy, generate, stream, embed, health }
})

/** A `ModelClient` layer for one configured Ollama provider. */
export const layer = (config: OllamaConfig, options?: OllamaClientOptions) =>
  Layer.effect(ModelClient, makeOllamaClient(config, options))
