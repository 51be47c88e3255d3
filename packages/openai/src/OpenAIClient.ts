/**
 * `ModelClient` on the official `openai` SDK: OpenAI, Azure OpenAI (deployment + api-version),
 * and any server speaking OpenAI's wire format by base URL (LM Studio, vLLM, Gemini's compatible
 * endpoint, a custom proxy).
 *
 * - SDK retries are off (`maxRetries: 0`): the router owns retries, asking the `LLMError`.
 * - Transport: one keep-alive undici Pool per client, owned by its scope (internal/transport).
 *   Chat generate and stream go straight over it by default (`transport: "direct"`, see
 *   internal/direct): the SDK's wire format, headers and error table without the SDK's
 *   per-request cost. `transport: "sdk"` sends them through the SDK. Embeddings, health and
 *   Azure OpenAI always use the SDK.
 * - Interrupting a call aborts its HTTP request; stopping a stream early aborts it too.
 * - Streams ask for `stream_options.include_usage`, so streamed usage is exact.
 *
 * @example
 * ```ts
 * import * as OpenAIClient from "@llm-gateway/openai/OpenAIClient"
 * const layer = OpenAIClient.layer(providerConfig)   // provides ModelClient
 * ```
 */
import type { EmbeddingRequest, HealthStatus, ProviderRequest } from "@llm-gateway/core/domain/Domain"
import { makeUsage } from "@llm-gateway/core/domain/Domain"
import { ConfigurationError, describe } from "@llm-gateway/core/domain/LLMError"
import { currentTraceparent, traceHeaders } from "@llm-gateway/core/metrics/GenAiSpans"
import { ModelClient, type ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import { openAIWirePolicy } from "@llm-gateway/core/providers/RequestFields"
import { Effect, Layer, type Scope, Stream } from "effect"
import OpenAI, { AzureOpenAI, type ClientOptions } from "openai"
import type { OpenAIWireConfig } from "./OpenAIConfig.ts"
import { directHeaders, makeDirectChat } from "./internal/direct.ts"
import { type ErrorScope, estimateTokens, toLLMError } from "./internal/errors.ts"
import { makeResponsesPassthrough } from "./internal/responsesPassthrough.ts"
import { resolveSettings } from "./internal/settings.ts"
import { makeTransport } from "./internal/transport.ts"
import { chatParams, chatStreamParams, toResponse, toStreamChunks } from "./internal/wire.ts"

export interface OpenAIClientOptions {
  /**
   * The SDK's per-request timeout (default 10 minutes, the SDK's own). The router's attempt
   * timeout normally fires first and interrupts the call, which aborts the request.
   */
  readonly timeoutMs?: number
  /** Bound on `health` (default 5 s): a hung upstream is reported unhealthy, not waited on. */
  readonly healthTimeoutMs?: number
  /** Connections per upstream origin (default unlimited). */
  readonly connections?: number
  /**
   * How chat generate and stream reach the upstream: `"direct"` (default) over the undici Pool
   * with the same body, headers, error table and usage accounting as the SDK; `"sdk"` through
   * the `openai` SDK. Azure OpenAI always uses the SDK.
   */
  readonly transport?: "sdk" | "direct"
}

const DEFAULT_TIMEOUT_MS = 600_000
const DEFAULT_HEALTH_TIMEOUT_MS = 5_000

/**
 * Builds the client from one `providers[]` entry. Fails with ConfigurationError when the entry
 * cannot work (no base URL where one is needed, a missing key for a hosted API, a bad URL).
 * The transport lives in the surrounding scope.
 */
export const makeOpenAIClient: (
  config: OpenAIWireConfig,
  options?: OpenAIClientOptions
) => Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> = Effect.fnUntraced(function*(
  config: OpenAIWireConfig,
  options?: OpenAIClientOptions
) {
  const settings = yield* resolveSettings(config)
  const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const healthTimeoutMs = Math.min(options?.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS, timeoutMs)
  const origin = yield* Effect.try({
    try: () => new URL(settings.baseURL).origin,
    catch: () => new ConfigurationError({ message: "not an http(s) URL", path: `providers.${config.name}.baseUrl` })
  })
  const transport = yield* makeTransport({ origin, timeoutMs, connections: options?.connections })

  const common = {
    apiKey: settings.apiKey,
    maxRetries: 0,
    timeout: timeoutMs,
    fetch: transport.fetch,
    fetchOptions: transport.fetchOptions as unknown as ClientOptions["fetchOptions"],
    defaultHeaders: settings.headers,
    defaultQuery: settings.query,
    // The SDK would print malformed SSE payloads to the console; errors reach the caller typed instead.
    logLevel: "off" as const
  }
  const sdk: OpenAI = yield* Effect.try({
    try: () =>
      settings.azure !== undefined
        ? new AzureOpenAI({
          ...common,
          baseURL: settings.baseURL,
          apiVersion: settings.azure.apiVersion,
          deployment: settings.azure.deployment
        })
        : new OpenAI({ ...common, baseURL: settings.baseURL }),
    catch: (error) =>
      new ConfigurationError({
        message: `cannot create the OpenAI client: ${error instanceof Error ? error.message : String(error)}`,
        path: `providers.${config.name}`
      })
  })

  const scope: ErrorScope = { prefix: `${config.name}/`, timeoutMs, secrets: settings.secrets }
  const maxField = settings.maxTokensField

  const sdkGenerate = Effect.fn("OpenAIClient.generate")(function*(req: ProviderRequest) {
    const tp = yield* currentTraceparent
    const completion = yield* Effect.tryPromise({
      try: (signal) => sdk.chat.completions.create(chatParams(req, maxField), { signal, ...traceHeaders(tp) }),
      catch: (error) => toLLMError(error, req, scope)
    })
    const response = toResponse(completion, req, scope.prefix + req.model)
    return "_tag" in response ? yield* response : response
  })

  const sdkStream = (req: ProviderRequest) =>
    Stream.unwrap(Effect.gen(function*() {
      // Our own controller, aborted when the stream's scope closes (consumer stopped, fiber
      // interrupted, error): a pending read does not let the SDK iterator's `return()` run.
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (controller) => Effect.sync(() => controller.abort())
      )
      const tp = yield* currentTraceparent
      const source = yield* Effect.tryPromise({
        try: () => sdk.chat.completions.create(chatStreamParams(req, maxField), { signal: controller.signal, ...traceHeaders(tp) }),
        catch: (error) => toLLMError(error, req, scope)
      })
      return Stream.fromAsyncIterable(
        toStreamChunks(source, req, scope.prefix + req.model),
        (error) => toLLMError(error, req, scope)
      )
    })).pipe(Stream.withSpan("OpenAIClient.stream"))

  // The hot path: no spans, a request costs one body string, one AbortController and the response.
  const direct = (options?.transport ?? "direct") === "direct" && settings.azure === undefined
    ? makeDirectChat({
      pool: transport.pool,
      path: chatPath(sdk.buildURL("/chat/completions", undefined)),
      headers: directHeaders(settings.apiKey, settings.headers),
      maxField,
      scope
    })
    : undefined
  const generate = direct?.generate ?? sdkGenerate
  const stream = direct?.stream ?? sdkStream

  const embed = Effect.fn("OpenAIClient.embed")(function*(req: EmbeddingRequest) {
    const result = yield* Effect.tryPromise({
      try: (signal) =>
        sdk.embeddings.create(
          // The SDK asks for base64 by default (smaller, faster); many compatible servers only do floats.
          embeddingParams(req, settings.base64Embeddings),
          { signal }
        ),
      catch: (error) => toLLMError(error, req, scope)
    })
    const data = result.data ?? []
    const ordered = data.every((d, i) => d.index === i) ? data : [...data].sort((a, b) => a.index - b.index)
    const promptTokens = result.usage?.prompt_tokens ?? estimateTokens(req)
    return {
      model: req.model,
      embeddings: ordered.map((d) => d.embedding),
      usage: makeUsage(promptTokens, 0)
    }
  })

  // Health errors name the provider, not a model, and report the health bound as their timeout.
  const healthScope: ErrorScope = { prefix: "", timeoutMs: healthTimeoutMs, secrets: settings.secrets }
  const healthInput = { model: config.name, messages: [] }
  const health: Effect.Effect<HealthStatus> = Effect.suspend(() => {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    return Effect.tryPromise({
      try: (signal) => sdk.models.list({ signal, timeout: healthTimeoutMs }),
      catch: (error) => toLLMError(error, healthInput, healthScope)
    }).pipe(
      Effect.map((page): HealthStatus => ({
        healthy: true,
        latencyMs: elapsed(),
        models: (page.data ?? []).map((m) => m.id)
      })),
      Effect.catch((error) => Effect.succeed<HealthStatus>({ healthy: false, latencyMs: elapsed(), error: describe(error) })),
      Effect.withSpan("OpenAIClient.health")
    )
  })

  return ModelClient.of({
    provider: config.name,
    type: config.type,
    // the direct path times its own requests; the SDK path is timed by the router
    enforcesTimeout: direct !== undefined,
    // OpenAI's wire: unknown fields pass; `n` only where the upstream is known to honour it
    // (compatible servers often ignore it: the manager fans out instead)
    fields: openAIWirePolicy(config.type === "openai" || config.type === "azure-openai"),
    generate,
    stream,
    embed,
    health,
    // OpenAI's own Responses API, for a client that speaks it (internal/responsesPassthrough.ts)
    ...(config.type === "openai" ? { passthrough: makeResponsesPassthrough(sdk, scope) } : {})
  })
})

/** Texts or token arrays and `dimensions` go upstream as given: OpenAI's wire takes them all. */
const embeddingParams = (req: EmbeddingRequest, base64: boolean): OpenAI.Embeddings.EmbeddingCreateParams => ({
  model: req.model,
  input: req.input as Array<string> | Array<Array<number>>,
  ...(req.dimensions !== undefined ? { dimensions: req.dimensions } : {}),
  // The SDK asks for base64 by default (smaller, faster); many compatible servers only do floats.
  ...(base64 ? {} : { encoding_format: "float" as const })
})

/** Path and query of an absolute URL, for a request on the origin's Pool. */
const chatPath = (url: string): string => {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}

/** Same as `makeOpenAIClient`. */
export const make = makeOpenAIClient

/** A `ModelClient` layer for one provider entry; the transport closes with the layer. */
export const layer = (config: OpenAIWireConfig, options?: OpenAIClientOptions): Layer.Layer<ModelClient, ConfigurationError> =>
  Layer.effect(ModelClient, makeOpenAIClient(config, options))

