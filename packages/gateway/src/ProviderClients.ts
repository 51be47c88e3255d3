/**
 * One `ModelClient` per `providers[]` entry, built by its `type`: the batteries-included wiring.
 * Each client's transport lives in the surrounding scope and closes with it.
 */
import type { ProviderConfig } from "@llm-gateway/core/ConfigSchema"
import type { ModelClientShape } from "@llm-gateway/core/ModelClient"
import { ModelClients } from "@llm-gateway/core/ModelClients"
import type { ConfigurationError } from "@llm-gateway/core/LLMError"
import { makeAnthropicClient } from "@llm-gateway/anthropic/AnthropicClient"
import { makeOllamaClient } from "@llm-gateway/ollama/OllamaClient"
import { makeOpenAIClient } from "@llm-gateway/openai/OpenAIClient"
import { Effect, Layer, type Scope } from "effect"

export const makeProviderClient = (config: ProviderConfig): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> => {
  switch (config.type) {
    case "anthropic":
      return makeAnthropicClient(config)
    case "ollama":
      return makeOllamaClient(config)
    case "llamacpp":
      // node-llama-cpp and its native binding cost ~1 s to import: only when a GGUF is configured.
      return Effect.flatMap(
        Effect.promise(() => import("@llm-gateway/llamacpp/LlamaCppClient")),
        (m) => m.makeLlamaCppClient(config)
      )
    case "openai":
    case "azure-openai":
    case "openai-compatible":
    case "vllm":
    case "lmstudio":
    case "gemini":
      return makeOpenAIClient(config)
  }
}

/** Every configured provider's client; fails at start when one cannot work (ConfigurationError). */
export const layerProviderClients = (providers: ReadonlyArray<ProviderConfig>): Layer.Layer<ModelClients, ConfigurationError> =>
  Layer.effect(
    ModelClients,
    Effect.map(Effect.forEach(providers, makeProviderClient), (clients) => ModelClients.of(ModelClients.fromClients(clients)))
  )
