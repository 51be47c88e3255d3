/**
 * Ollama as a provider definition: local, its models are whatever is pulled (no catalog rows);
 * base URL, env variables and family are declared here. The SDK is imported by `make`.
 */
import { openaiEndpoints, stripUrlSuffix } from "@llm-gateway/core/config/ProviderSpec"
import { defineProvider, lazyMake } from "@llm-gateway/core/providers/ProviderDefinition"
import type { OllamaConfig } from "./OllamaClient.ts"

/** The entry type the client reads (declared beside the client, which the definition loads lazily). */
export type { OllamaConfig }

export const ollamaProvider = defineProvider({
  type: "ollama",
  family: "local",
  defaultBaseUrl: "http://127.0.0.1:11434",
  needsBaseUrl: true,
  // the SDK appends /api/chat to the host; users also copy its OpenAI-compatible /v1 URLs
  normalizeBaseUrl: (url) =>
    stripUrlSuffix(
      stripUrlSuffix(url, ["/api/chat", "/api/generate", "/api/embed", "/api/tags", ...openaiEndpoints]),
      ["/api", "/v1"]
    ),
  anyModelRank: 2,
  env: {
    fields: [{ field: "baseUrl", vars: ["OLLAMA_BASE_URL"], kind: "url", activates: true }],
    model: { var: "OLLAMA_MODEL", activates: true },
    generic: { aliases: ["ollama"] }
  },
  package: "@llm-gateway/ollama",
  make: lazyMake(() => import("./OllamaClient.ts"), (m, config: OllamaConfig) => m.makeOllamaClient(config))
})
