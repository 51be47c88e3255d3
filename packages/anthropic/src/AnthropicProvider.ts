/**
 * Anthropic's Messages API as a provider definition: base URL, env variables, bare-id rule,
 * family and catalog rows. The SDK is imported by `make`, not here.
 *
 * Prices are Anthropic's public list prices; prompt-cache reads at 0.1× and 5-minute cache
 * writes at 1.25× the input price (docs.anthropic.com "Prompt caching"; Claude 3 Haiku's
 * published figures are rounded: $0.03 read, $0.30 write).
 */
import type { ModelEntry } from "@llm-gateway/core/config/ConfigSchema"
import * as ModelCatalog from "@llm-gateway/core/config/ModelCatalog"
import { stripUrlSuffix } from "@llm-gateway/core/config/ProviderSpec"
import { defineProvider, lazyMake } from "@llm-gateway/core/providers/ProviderDefinition"
import type { AnthropicConfig } from "./AnthropicClient.ts"

/** Cache reads at 0.1×, 5-minute cache writes at 1.25× the input price. */
const an = (id: string, ctx: number, maxOut: number, input: number, output: number) =>
  ModelCatalog.row(id, ctx, maxOut, input, output, {
    read: ModelCatalog.roundRate(input * 0.1),
    write: ModelCatalog.roundRate(input * 1.25)
  })

/** Anthropic models: dated ids and the aliases Anthropic's API accepts. */
export const anthropicModels: ReadonlyArray<ModelEntry> = [
  ModelCatalog.row("claude-3-haiku-20240307", 200_000, 4_096, 0.25, 1.25, { read: 0.03, write: 0.3 }),
  an("claude-3-5-haiku-20241022", 200_000, 8_192, 0.8, 4),
  an("claude-3-5-haiku-latest", 200_000, 8_192, 0.8, 4),
  an("claude-haiku-4-5-20251001", 200_000, 64_000, 1, 5),
  an("claude-haiku-4-5", 200_000, 64_000, 1, 5),
  an("claude-3-5-sonnet-20241022", 200_000, 8_192, 3, 15),
  an("claude-3-5-sonnet-latest", 200_000, 8_192, 3, 15),
  an("claude-3-7-sonnet-20250219", 200_000, 64_000, 3, 15),
  an("claude-3-7-sonnet-latest", 200_000, 64_000, 3, 15),
  an("claude-sonnet-4-20250514", 200_000, 64_000, 3, 15),
  an("claude-sonnet-4-0", 200_000, 64_000, 3, 15),
  an("claude-sonnet-4-5-20250929", 200_000, 64_000, 3, 15),
  an("claude-sonnet-4-5", 200_000, 64_000, 3, 15),
  an("claude-opus-4-20250514", 200_000, 32_000, 15, 75),
  an("claude-opus-4-0", 200_000, 32_000, 15, 75),
  an("claude-opus-4-1-20250805", 200_000, 32_000, 15, 75),
  an("claude-opus-4-1", 200_000, 32_000, 15, 75),
  an("claude-3-opus-20240229", 200_000, 4_096, 15, 75)
]

/** The entry type the client reads (declared beside the client, which the definition loads lazily). */
export type { AnthropicConfig }

export const anthropicProvider = defineProvider({
  type: "anthropic",
  family: "anthropic",
  defaultBaseUrl: "https://api.anthropic.com",
  clientDefaultsBaseUrl: true,
  // the SDK appends /v1/messages to the host
  normalizeBaseUrl: (url) => stripUrlSuffix(stripUrlSuffix(url, ["/v1/messages", "/messages"]), ["/v1"]),
  models: anthropicModels,
  // the Messages API has no audio input (images and PDFs it takes)
  limits: { audio: false },
  ownsModelId: (id) => id.startsWith("claude-"),
  env: {
    fields: [
      { field: "apiKey", vars: ["CLAUDE_API_KEY", "ANTHROPIC_API_KEY"], activates: true },
      { field: "baseUrl", vars: ["ANTHROPIC_BASE_URL"], kind: "url", activates: true }
    ],
    model: { var: "CLAUDE_MODEL" },
    generic: { aliases: ["anthropic", "claude"], keyPrefix: "sk-ant-", host: (host) => host.endsWith("anthropic.com") }
  },
  package: "@llm-gateway/anthropic",
  make: lazyMake(() => import("./AnthropicClient.ts"), (m, config: AnthropicConfig) => m.makeAnthropicClient(config))
})
