/**
 * The Anthropic provider: a `ModelClient` on the official `@anthropic-ai/sdk`.
 *
 * - The SDK never retries (`maxRetries: 0`): the router owns retries and fallbacks, and asks
 *   the `LLMError` built by `internal/errors.ts` whether to retry.
 * - Requests go through undici on a keep-alive Agent owned by the client's scope.
 * - Interrupting a `generate` fiber or ending a `stream` early aborts the HTTP request, so the
 *   upstream stops generating (and billing) at once.
 * - Anthropic has no JSON mode: `responseFormat` is asked for in the system prompt.
 * - Messages made of parts, tools, thinking and prompt caching map as notes/rich-messages.md
 *   says (`internal/messages.ts`, `internal/convert.ts`); a part Anthropic cannot take (audio)
 *   is an InvalidRequest naming it, before anything is sent.
 * - No embeddings endpoint: `embed` fails with `ConfigurationError`.
 * - A client speaking Anthropic's own API is passed through (`passthrough`, internal/passthrough.ts).
 */
import type { ProviderEntry } from "@llm-gateway/core/config/ConfigSchema"
import Anthropic from "@anthropic-ai/sdk"
import {
  formatModelRef,
  type HealthStatus,
  type ProviderRequest,
  type ProviderResponse,
  type StreamChunk
} from "@llm-gateway/core/domain/Domain"
import { ConfigurationError, describe, InvalidRequest, type LLMError, TimeoutError } from "@llm-gateway/core/domain/LLMError"
import { currentTraceparent, traceHeaders } from "@llm-gateway/core/metrics/GenAiSpans"
import { embeddingsUnsupported, ModelClient, type ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import { Clock, Effect, Layer, Redacted, type Scope, Stream } from "effect"
import { fieldPolicy, responseOf, toMessagesParams } from "./internal/convert.ts"
import { isPartRefused } from "./internal/messages.ts"
import { type ErrorContext, toLLMError } from "./internal/errors.ts"
import { scopedFetch } from "./internal/fetch.ts"
import { makePassthrough } from "./internal/passthrough.ts"
import { toChunks } from "./internal/stream.ts"

/** An entry of `type: anthropic`: the common fields only (what this client reads). */
export type AnthropicConfig = ProviderEntry<"anthropic">

export const DEFAULT_BASE_URL = "https://api.anthropic.com"

/**
 * The SDK's own per-request limit. Kept long (the router's `attemptTimeoutMs` interrupts
 * sooner); setting it also stops the SDK from refusing large non-streamed `max_tokens`.
 */
export const REQUEST_TIMEOUT_MS = 10 * 60_000

export const HEALTH_TIMEOUT_MS = 5_000

/**
 * The SDK appends `/v1/messages` itself, so a configured `…/v1` (the OpenAI habit) is dropped
 * rather than sent as `/v1/v1/messages`.
 */
const normalizeBaseUrl = (raw: string | undefined): string | undefined => {
  const value = (raw ?? DEFAULT_BASE_URL).trim()
  try {
    const url = new URL(value)
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  } catch {
    return undefined
  }
  return value.replace(/\/+$/, "").replace(/\/v1$/, "")
}

export interface AnthropicClientOptions {
  /** The SDK's per-request limit (default `REQUEST_TIMEOUT_MS`); reported as TimeoutError. */
  readonly requestTimeoutMs?: number
  readonly healthTimeoutMs?: number
}

/** Builds the client; the HTTP agent lives as long as the scope. */
export const makeAnthropicClient = (
  config: AnthropicConfig,
  options: AnthropicClientOptions = {}
): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    const healthTimeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS
    const where = `providers.${config.name}`
    if (config.type !== "anthropic") {
      return yield* new ConfigurationError({ message: `expected type anthropic, got ${config.type}`, path: `${where}.type` })
    }
    if (config.apiKey === undefined) {
      return yield* new ConfigurationError({
        message: "an API key is required (ANTHROPIC_API_KEY or CLAUDE_API_KEY)",
        path: `${where}.apiKey`
      })
    }
    const baseURL = normalizeBaseUrl(config.baseUrl)
    if (baseURL === undefined) {
      return yield* new ConfigurationError({ message: "baseUrl must be an http(s) URL", path: `${where}.baseUrl` })
    }
    const apiKey = Redacted.value(config.apiKey)
    const headers = Object.fromEntries(
      Object.entries(config.headers ?? {}).map(([name, value]) => [name, Redacted.value(value)] as const)
    )
    const secrets = [apiKey, ...Object.values(headers)]
    const fetch = yield* scopedFetch()
    const client = yield* Effect.try({
      try: () =>
        new Anthropic({
          apiKey,
          baseURL,
          maxRetries: 0,
          timeout: timeoutMs,
          fetch,
          defaultHeaders: headers,
          // The gateway logs through Effect; the SDK's console logger would bypass it.
          logLevel: "off"
        }),
      catch: () => new ConfigurationError({ message: "the Anthropic SDK rejected this configuration", path: where })
    })

    const entries = new Map(config.models.map((m) => [m.id, m] as const))
    const errorContext = (model: string): ErrorContext => ({
      model: formatModelRef(config.name, model),
      timeoutMs,
      contextWindow: entries.get(model)?.contextWindow,
      secrets
    })
    const paramsFor = (req: ProviderRequest) => {
      const model = formatModelRef(config.name, req.model)
      const params = toMessagesParams(req, entries.get(req.model)?.maxOutputTokens, model)
      if (isPartRefused(params)) return Effect.fail(new InvalidRequest({ model, message: params.message, param: params.param }))
      return params !== undefined
        ? Effect.succeed(params)
        : Effect.fail(
          new InvalidRequest({
            model: formatModelRef(config.name, req.model),
            message: "at least one user or assistant message is required",
            param: "messages"
          })
        )
    }

    const generate = Effect.fn("AnthropicClient.generate")(
      function*(req: ProviderRequest): Effect.fn.Return<ProviderResponse, LLMError> {
        const params = yield* paramsFor(req)
        const tp = yield* currentTraceparent
        const message = yield* Effect.tryPromise({
          // The signal aborts when the fiber is interrupted: the SDK then aborts the fetch.
          try: (signal) => client.messages.create(params, { signal, ...traceHeaders(tp) }),
          catch: (error) => toLLMError(errorContext(req.model), error)
        })
        return responseOf(message)
      }
    )

    const stream = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> =>
      Stream.unwrap(
        Effect.gen(function*() {
          const params = yield* paramsFor(req)
          const ctx = errorContext(req.model)
          // Tied to the stream's scope: however the stream ends (done, failed, interrupted,
          // consumer stopped early), the request is aborted and its socket released.
          const controller = yield* Effect.acquireRelease(
            Effect.sync(() => new AbortController()),
            (c) => Effect.sync(() => c.abort())
          )
          const tp = yield* currentTraceparent
          const events = yield* Effect.tryPromise({
            try: () => client.messages.create({ ...params, stream: true }, { signal: controller.signal, ...traceHeaders(tp) }),
            catch: (error) => toLLMError(ctx, error)
          })
          return Stream.fromAsyncIterable(toChunks(events), (error) => toLLMError(ctx, error))
        }).pipe(Effect.withSpan("AnthropicClient.stream"))
      )

    const health: Effect.Effect<HealthStatus> = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const ctx = errorContext("models")
      const outcome = yield* Effect.tryPromise({
        try: (signal) => client.models.list({ limit: 100 }, { signal }),
        catch: (error) => toLLMError(ctx, error)
      }).pipe(
        Effect.timeoutOrElse({
          duration: healthTimeoutMs,
          orElse: () => Effect.fail(new TimeoutError({ model: ctx.model, timeoutMs: healthTimeoutMs }))
        }),
        Effect.result
      )
      const latencyMs = (yield* Clock.currentTimeMillis) - start
      return outcome._tag === "Success"
        ? { healthy: true, latencyMs, models: outcome.success.data.map((m) => m.id) }
        : { healthy: false, latencyMs, error: describe(outcome.failure) }
    }).pipe(Effect.withSpan("AnthropicClient.health"))

    return {
      provider: config.name,
      type: "anthropic",
      fields: fieldPolicy,
      generate,
      stream,
      embed: embeddingsUnsupported(config.name),
      health,
      passthrough: makePassthrough(client, errorContext)
    } satisfies ModelClientShape
  })

/** A Layer providing `ModelClient` for one configured Anthropic provider. */
export const layer = (
  config: AnthropicConfig,
  options?: AnthropicClientOptions
): Layer.Layer<ModelClient, ConfigurationError> => Layer.effect(ModelClient, makeAnthropicClient(config, options))
