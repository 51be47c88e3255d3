/** Ollama as a provider definition: local, its models are whatever is pulled; the SDK is imported by `make`. */
import { defineProvider, lazyMake } from "@llm-gateway/core/providers/ProviderDefinition"

export const ollamaProvider = defineProvider({
  type: "ollama",
  family: "local",
  defaultBaseUrl: "http://127.0.0.1:11434",
  needsBaseUrl: true,
  package: "@llm-gateway/ollama",
  make: lazyMake(() => import("./OllamaClient.ts"), (m, config) => m.makeOllamaClient(config))
})
