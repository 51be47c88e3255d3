/**
 * effect/ai's `LanguageModel` service backed by the gateway's manager (notes/rich-messages.md §1):
 * an Effect program that writes `LanguageModel.generateText({ prompt, toolkit })`, `streamText` or
 * `generateObject` gets routing, fallback, caching and cost from the gateway, while effect/ai
 * runs the toolkit's handlers. The gateway maps one model call; effect/ai resolves the calls.
 *
 * ```ts
 * const program = LanguageModel.generateText({ prompt: "Weather in Paris?", toolkit: WeatherToolkit })
 * program.pipe(Effect.provide(languageModelLayer({ config, taskType: "general" })))
 * ```
 */
import type { GatewayConfigInput } from "@llm-gateway/core/config/LLMConfig"
import type { LLMRequest, Preferences } from "@llm-gateway/core/domain/Domain"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { LLMManager, type LLMManagerShape } from "@llm-gateway/core/manager/LLMManager"
import { Effect, Layer, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { gatewayLayer, type GatewayOptions } from "./GatewayLayer.ts"
import { makeStreamTranslator, requestFields, responseParts, toAiError } from "./internal/aiParts.ts"

export type { GatewayMetadata } from "./internal/aiParts.ts"

/** How every call of this `LanguageModel` is routed (the prompt, tools and output format come from effect/ai). */
export interface LanguageModelOptions {
  /** `provider/model`, a bare model id or an alias; absent: routed by `taskType`. */
  readonly model?: string | undefined
  readonly taskType?: string | undefined
  readonly preferences?: Preferences | undefined
  /** `false` bypasses the response cache. */
  readonly cache?: boolean | undefined
  readonly parallelToolCalls?: boolean | undefined
  readonly reasoning?: LLMRequest["reasoning"]
}

const routing = (options: LanguageModelOptions): Partial<LLMRequest> => ({
  ...(options.model !== undefined ? { model: options.model } : {}),
  ...(options.taskType !== undefined ? { taskType: options.taskType } : {}),
  ...(options.preferences !== undefined ? { preferences: options.preferences } : {}),
  ...(options.cache !== undefined ? { cache: options.cache } : {}),
  ...(options.parallelToolCalls !== undefined ? { parallelToolCalls: options.parallelToolCalls } : {}),
  ...(options.reasoning !== undefined ? { reasoning: options.reasoning } : {})
})

/**
 * A `LanguageModel` over a manager. Each finish part carries `metadata.gateway`
 * ({@link GatewayMetadata}: provider, model, cost, cache hit, attempts); failures are `AiError`s
 * whose `reason` follows the gateway's error (`RateLimitExceeded` → `RateLimitError`, …) with
 * the gateway's tag and attempts in the reason's `metadata.gateway`.
 */
export const makeLanguageModel = (
  manager: Pick<LLMManagerShape, "generate" | "generateStream">,
  options: LanguageModelOptions = {}
): Effect.Effect<LanguageModel.LanguageModel> => {
  const base = routing(options)
  const request = (provider: LanguageModel.ProviderOptions): LLMRequest => ({ ...base, ...requestFields(provider) })
  return LanguageModel.make({
    generateText: (provider) =>
      manager.generate(request(provider)).pipe(
        Effect.map(responseParts),
        Effect.mapError(toAiError("generateText"))
      ),
    streamText: (provider) =>
      Stream.suspend(() => {
        const translator = makeStreamTranslator()
        return manager.generateStream(request(provider)).pipe(
          Stream.map(translator.next),
          Stream.concat(Stream.sync(translator.end)),
          Stream.flattenIterable,
          Stream.mapError(toAiError("streamText"))
        )
      })
  })
}

/** The `LanguageModel` over the `LLMManager` in context (a server or app that already has one). */
export const layerLanguageModel = (
  options: LanguageModelOptions = {}
): Layer.Layer<LanguageModel.LanguageModel, never, LLMManager> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      return yield* makeLanguageModel(yield* LLMManager, options)
    })
  )

/** The `LanguageModel` with its own gateway, built from a config in the YAML shape (or env when absent). */
export const languageModelLayer = (
  options: LanguageModelOptions & { readonly config?: GatewayConfigInput | undefined; readonly gateway?: GatewayOptions | undefined } = {}
): Layer.Layer<LanguageModel.LanguageModel, ConfigurationError> =>
  layerLanguageModel(options).pipe(
    Layer.provide(gatewayLayer({ ...options.gateway, ...(options.config !== undefined ? { config: options.config } : {}) }))
  )
