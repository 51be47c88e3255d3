/**
 * One `ModelClient` per `providers[]` entry, built by its `type`: the batteries-included wiring.
 * Each client's transport lives in the surrounding scope and closes with it.
 *
 * Provider packages are imported when a provider of their type is configured, not before: each
 * SDK costs start-up time and resident memory (node-llama-cpp ~1 s and its native binding), and
 * most gateways use one or two of them.
 */
import type { ProviderConfig } from "@llm-gateway/core/ConfigSchema"
import type { ConfigurationError } from "@llm-gateway/core/LLMError"
import type { ModelClientShape } from "@llm-gateway/core/ModelClient"
import { ModelClients } from "@llm-gateway/core/ModelClients"
import { Effect, Layer, type Scope } from "effect"

type Make = (config: ProviderConfig) => Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope>

const loaders: Record<"openai" | "anthropic" | "ollama" | "llamacpp", () => Promise<Make>> = {
  openai: () => import("@llm-gateway/openai/OpenAIClient").then((m) => (config) => m.makeOpenAIClient(config)),
  anthropic: () => import("@llm-gateway/anthropic/AnthropicClient").then((m) => (config) => m.makeAnthropicClient(config)),
  ollama: () => import("@llm-gateway/ollama/OllamaClient").then((m) => (config) => m.makeOllamaClient(config)),
  llamacpp: () => import("@llm-gateway/llamacpp/LlamaCppClient").then((m) => (config) => m.makeLlamaCppClient(config))
}

const packageFor = (type: ProviderConfig["type"]): keyof typeof loaders => {
  switch (type) {
    case "anthropic":
    case "ollama":
    case "llamacpp":
      return type
    case "openai":
    case "azure-openai":
    case "openai-compatible":
    case "vllm":
    case "lmstudio":
    case "gemini":
      return "openai"
  }
}

export const makeProviderClient = (config: ProviderConfig): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> =>
  Effect.flatMap(Effect.promise(loaders[packageFor(config.type)]), (make) => make(config))

/**
 * Clients that replace the built ones, by provider name (a test's scripted or fake client).
 * Each is registered under that name, whatever its own `provider` field says.
 */
export type ClientOverrides = Readonly<Record<string, ModelClientShape>>

/** Every configured provider's client; fails at start when one cannot work (ConfigurationError). */
export const layerProviderClients = (
  providers: ReadonlyArray<ProviderConfig>,
  overrides: ClientOverrides = {}
): Layer.Layer<ModelClients, ConfigurationError> =>
  Layer.effect(
    ModelClients,
    Effect.map(
      Effect.forEach(providers, (p) => {
        const given = Object.hasOwn(overrides, p.name) ? overrides[p.name] : undefined
        return given === undefined ? makeProviderClient(p) : Effect.succeed({ ...given, provider: p.name })
      }),
      (clients) => ModelClients.of(ModelClients.fromClients(clients))
    )
  )
