/**
 * The provider definitions llm-gateway ships with. Each comes from its provider package and
 * imports its SDK only in `make`; `llamacpp` is defined here because `@llm-gateway/llamacpp` is
 * an optional peer: the definition must exist (and say what to install) when the package does not.
 */
import { anthropicProvider } from "@llm-gateway/anthropic/AnthropicProvider"
import { defineProvider, lazyMake, type ProviderDefinition } from "@llm-gateway/core/providers/ProviderDefinition"
import { ollamaProvider } from "@llm-gateway/ollama/OllamaProvider"
import { openaiProviders } from "@llm-gateway/openai/OpenAIProvider"

/** An embedded GGUF model on node-llama-cpp (~1 s and a native binding to load: only when configured). */
export const llamacppProvider = defineProvider({
  type: "llamacpp",
  family: "local",
  package: "@llm-gateway/llamacpp",
  make: lazyMake(
    () => import("@llm-gateway/llamacpp/LlamaCppClient"),
    (m, config) => m.makeLlamaCppClient(config),
    "@llm-gateway/llamacpp"
  )
})

export const builtinProviders: ReadonlyArray<ProviderDefinition> = [
  ...openaiProviders,
  anthropicProvider,
  ollamaProvider,
  llamacppProvider
]
