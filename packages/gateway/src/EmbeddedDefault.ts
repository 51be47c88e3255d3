/**
 * The embedded default model: with no provider configured, the gateway serves the tiny GGUF the
 * repository carries (`models/stories260K.gguf`, MIT) as provider `local`, so a fresh clone's
 * `pnpm start` and `gateway ask` answer with no key and no network. Any configured provider (a
 * config file's `providers`, `OPENAI_API_KEY`, `LLM_LOCAL_MODEL_PATH`, a local Ollama that
 * answers, …) replaces it; `LLM_EMBEDDED_DEFAULT=false` turns it off.
 */
import type { GatewayConfig, ProviderConfig } from "@llm-gateway/core/config/ConfigSchema"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { Config, ConfigProvider, Effect, Option } from "effect"
import { stat } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/**
 * Where the model lives in a clone of the repository. An installed package has no `models/`
 * folder: then there is no embedded default (`embeddedDefault` returns the config unchanged).
 */
export const embeddedModelPath: string = fileURLToPath(new URL("../../../models/stories260K.gguf", import.meta.url))

/** The provider entry the gateway adds: provider `local`, model `local/stories260K`. */
export const embeddedProvider = (modelPath: string = embeddedModelPath): ProviderConfig => ({
  name: "local",
  type: "llamacpp",
  modelPath,
  // One thread: the tiny model is fast enough on one, and llama.cpp spinning on more
  // threads than free cores is orders of magnitude slower (notes/llamacpp.md).
  threads: 1,
  contextLength: 2048,
  models: [{ id: "stories260K", contextWindow: 2048, inputCostPer1M: 0, outputCostPer1M: 0 }]
})

const falsy = new Set(["false", "0", "no", "off"])
const truthy = new Set(["true", "1", "yes", "on"])

/** `LLM_EMBEDDED_DEFAULT` (default on); anything but a boolean word is a ConfigurationError. */
export const readEmbeddedDefaultFlag = (
  env?: Record<string, string | undefined> | undefined
): Effect.Effect<boolean, ConfigurationError> =>
  Effect.gen(function*() {
    const provider = env === undefined ? yield* ConfigProvider.ConfigProvider : ConfigProvider.fromEnvRecord(env)
    const raw = yield* Config.option(Config.String("LLM_EMBEDDED_DEFAULT")).parse(provider).pipe(
      Effect.map(Option.getOrUndefined),
      Effect.mapError(() => new ConfigurationError({ path: "LLM_EMBEDDED_DEFAULT", message: "cannot read the variable" }))
    )
    const value = raw?.trim().toLowerCase() ?? ""
    if (value === "" || truthy.has(value)) return true
    if (falsy.has(value)) return false
    return yield* new ConfigurationError({
      path: "LLM_EMBEDDED_DEFAULT",
      message: `LLM_EMBEDDED_DEFAULT must be true or false (got "${raw}")`
    })
  })

/** True when the config names no provider at all (the embedded default then applies). */
export const hasNoProvider = (config: GatewayConfig): boolean => config.providers.length === 0

/** The config, plus provider `local` on the embedded model when nothing else is configured. */
export const withEmbeddedDefault = (
  config: GatewayConfig,
  options: { readonly env?: Record<string, string | undefined> | undefined; readonly modelPath?: string | undefined } = {}
): Effect.Effect<GatewayConfig, ConfigurationError> =>
  Effect.gen(function*() {
    if (!hasNoProvider(config)) return config
    if (!(yield* readEmbeddedDefaultFlag(options.env))) return config
    const modelPath = options.modelPath ?? embeddedModelPath
    const present = yield* Effect.promise(() => stat(modelPath).then((s) => s.isFile(), () => false))
    return present ? { ...config, providers: [embeddedProvider(modelPath)] } : config
  })

/** True when the config's only provider is the embedded default (the banner says so). */
export const isEmbeddedDefault = (config: GatewayConfig): boolean =>
  config.providers.length === 1 && config.providers[0].name === "local" &&
  config.providers[0].modelPath === embeddedModelPath
