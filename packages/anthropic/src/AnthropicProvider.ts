/** Anthropic's Messages API as a provider definition; the SDK is imported by `make`, not here. */
import * as ModelCatalog from "@llm-gateway/core/config/ModelCatalog"
import { defineProvider, lazyMake } from "@llm-gateway/core/providers/ProviderDefinition"

export const anthropicProvider = defineProvider({
  type: "anthropic",
  family: "anthropic",
  defaultBaseUrl: "https://api.anthropic.com",
  models: ModelCatalog.anthropic,
  package: "@llm-gateway/anthropic",
  make: lazyMake(() => import("./AnthropicClient.ts"), (m, config) => m.makeAnthropicClient(config))
})
