/**
 * The OpenAI wire format as provider definitions: OpenAI itself, and the flavours that speak it
 * (Azure OpenAI, vLLM, LM Studio, Gemini's OpenAI-compatible endpoint, any compatible server),
 * each the OpenAI definition with its differences. Everything the gateway knows about these
 * types is here: base URLs, env variables, bare-id rules, family, catalog rows. The SDK is
 * imported by `make`, not here.
 *
 * Prices are the providers' public list prices (standard tier, no batch discounts). Prompt-cache
 * rates from openai.com/api/pricing: cached input at 50% of the input price for gpt-4o /
 * gpt-4o-mini / o1 / o3-mini, 25% for gpt-4.1* / o3 / o4-mini, 10% for gpt-5*; no write
 * surcharge (automatic caching); gpt-4-turbo, gpt-4, gpt-3.5-turbo and embeddings have no prompt
 * caching. Gemini's cache discounts are not listed (implicit caching varies by model and date),
 * so cached tokens are billed at the input price — never less than the upstream charges.
 */
import type { ModelEntry } from "@llm-gateway/core/config/ConfigSchema"
import * as ModelCatalog from "@llm-gateway/core/config/ModelCatalog"
import { openaiEndpoints, stripUrlSuffix, urlPath } from "@llm-gateway/core/config/ProviderSpec"
import { defineProvider, lazyMake } from "@llm-gateway/core/providers/ProviderDefinition"
import { azureConfigFields, defaultBaseUrls, type OpenAIWireConfig } from "./OpenAIConfig.ts"

/** OpenAI: cached input at `ratio` of the input price. */
const oa = (id: string, ctx: number, maxOut: number, input: number, output: number, ratio: number) =>
  ModelCatalog.row(id, ctx, maxOut, input, output, { read: ModelCatalog.roundRate(input * ratio) })

const embedding = (id: string, contextWindow: number, inputCostPer1M: number): ModelEntry => ({
  id,
  contextWindow,
  inputCostPer1M,
  outputCostPer1M: 0,
  embedding: true
})

/** OpenAI chat and embedding models. The cheap general-purpose model comes first. */
export const openaiModels: ReadonlyArray<ModelEntry> = [
  oa("gpt-4o-mini", 128_000, 16_384, 0.15, 0.6, 0.5),
  oa("gpt-4o", 128_000, 16_384, 2.5, 10, 0.5),
  oa("gpt-4.1-nano", 1_047_576, 32_768, 0.1, 0.4, 0.25),
  oa("gpt-4.1-mini", 1_047_576, 32_768, 0.4, 1.6, 0.25),
  oa("gpt-4.1", 1_047_576, 32_768, 2, 8, 0.25),
  oa("gpt-5-nano", 400_000, 128_000, 0.05, 0.4, 0.1),
  oa("gpt-5-mini", 400_000, 128_000, 0.25, 2, 0.1),
  oa("gpt-5", 400_000, 128_000, 1.25, 10, 0.1),
  oa("o4-mini", 200_000, 100_000, 1.1, 4.4, 0.25),
  oa("o3-mini", 200_000, 100_000, 1.1, 4.4, 0.5),
  oa("o3", 200_000, 100_000, 2, 8, 0.25),
  oa("o1", 200_000, 100_000, 15, 60, 0.5),
  ModelCatalog.row("gpt-4-turbo", 128_000, 4_096, 10, 30),
  ModelCatalog.row("gpt-4", 8_192, 8_192, 30, 60),
  ModelCatalog.row("gpt-3.5-turbo", 16_385, 4_096, 0.5, 1.5),
  embedding("text-embedding-3-small", 8_191, 0.02),
  embedding("text-embedding-3-large", 8_191, 0.13),
  embedding("text-embedding-ada-002", 8_191, 0.1)
]

/** Gemini through Google's OpenAI-compatible endpoint. */
export const geminiModels: ReadonlyArray<ModelEntry> = [
  ModelCatalog.row("gemini-2.0-flash", 1_048_576, 8_192, 0.1, 0.4),
  ModelCatalog.row("gemini-2.5-flash", 1_048_576, 65_536, 0.3, 2.5),
  ModelCatalog.row("gemini-2.5-pro", 1_048_576, 65_536, 1.25, 10)
]

/** The SDK appends `/chat/completions` to a `…/v1` base: a copied full endpoint is cut back to it. */
const openaiBaseUrl = (url: string): string => stripUrlSuffix(url, openaiEndpoints)

/** vLLM and LM Studio serve the OpenAI API under /v1; a bare host:port means that. */
const localServerBaseUrl = (url: string): string => {
  const base = openaiBaseUrl(url)
  const path = urlPath(base)
  return path === "/" || path === "" ? `${base}/v1` : base
}

const openaiPrefix = /^(gpt-|o[134](-|$)|chatgpt-|text-embedding-)/
/** Open-weight models named like OpenAI's (`gpt-oss`) run locally. */
const openWeights = /^gpt-oss/

export { azureConfigFields, defaultBaseUrlOf, type OpenAIWireConfig, type OpenAIWireType } from "./OpenAIConfig.ts"

/** Every OpenAI-wire definition builds the same client (the SDK imported on first use). */
const makeOpenAIWire = lazyMake(() => import("./OpenAIClient.ts"), (m, config: OpenAIWireConfig) => m.makeOpenAIClient(config))

export const openaiProvider = defineProvider({
  type: "openai",
  family: "openai",
  defaultBaseUrl: defaultBaseUrls["openai"],
  clientDefaultsBaseUrl: true,
  normalizeBaseUrl: openaiBaseUrl,
  models: openaiModels,
  ownsModelId: (id) => openaiPrefix.test(id) && !openWeights.test(id),
  env: {
    fields: [
      { field: "apiKey", vars: ["OPENAI_API_KEY"], activates: true },
      { field: "baseUrl", vars: ["OPENAI_BASE_URL"], kind: "url", activates: true },
      { field: "defaults.maxTokens", vars: ["OPENAI_MAX_TOKENS"], kind: "int" },
      { field: "defaults.temperature", vars: ["OPENAI_TEMPERATURE"], kind: "number" }
    ],
    model: { var: "OPENAI_MODEL" },
    generic: { aliases: ["openai"], host: (host) => host === "api.openai.com", fallback: "withoutUrl" }
  },
  package: "@llm-gateway/openai",
  make: makeOpenAIWire
})

/** Azure: the resource's URL is always the user's; no env variables of its own. */
export const azureOpenAIProvider = defineProvider({
  ...openaiProvider,
  type: "azure-openai",
  make: makeOpenAIWire,
  defaultBaseUrl: defaultBaseUrls["azure-openai"],
  clientDefaultsBaseUrl: undefined,
  needsBaseUrl: true,
  env: undefined,
  configFields: azureConfigFields
})

/** Any server that speaks OpenAI's API; its models are whatever it serves (no catalog, no prices). */
export const openaiCompatibleProvider = defineProvider({
  ...openaiProvider,
  type: "openai-compatible",
  make: makeOpenAIWire,
  family: "local",
  defaultBaseUrl: defaultBaseUrls["openai-compatible"],
  clientDefaultsBaseUrl: undefined,
  needsBaseUrl: true,
  models: [],
  ownsModelId: undefined,
  env: { generic: { aliases: ["openai-compatible"], fallback: "otherUrl" } }
})

export const vllmProvider = defineProvider({
  ...openaiCompatibleProvider,
  type: "vllm",
  make: makeOpenAIWire,
  defaultBaseUrl: defaultBaseUrls["vllm"],
  normalizeBaseUrl: localServerBaseUrl,
  anyModelRank: 3,
  env: {
    fields: [
      { field: "baseUrl", vars: ["VLLM_BASE_URL"], kind: "url", activates: true },
      { field: "apiKey", vars: ["VLLM_API_KEY"] }
    ],
    model: { var: "VLLM_MODEL", activates: true },
    generic: { aliases: ["vllm"] }
  }
})

export const lmstudioProvider = defineProvider({
  ...openaiCompatibleProvider,
  type: "lmstudio",
  make: makeOpenAIWire,
  defaultBaseUrl: defaultBaseUrls["lmstudio"],
  normalizeBaseUrl: localServerBaseUrl,
  anyModelRank: 1,
  env: {
    fields: [{ field: "baseUrl", vars: ["LM_STUDIO_ENDPOINT"], kind: "url", activates: true }],
    model: { var: "LM_STUDIO_MODEL", activates: true },
    generic: { aliases: ["lmstudio", "lm-studio"] }
  }
})

/** Gemini through Google's OpenAI-compatible endpoint: hosted and priced, but not in a seed-003 family. */
export const geminiProvider = defineProvider({
  ...openaiProvider,
  type: "gemini",
  make: makeOpenAIWire,
  family: undefined,
  defaultBaseUrl: defaultBaseUrls["gemini"],
  clientDefaultsBaseUrl: undefined,
  models: geminiModels,
  ownsModelId: (id) => id.startsWith("gemini-"),
  env: {
    fields: [{ field: "apiKey", vars: ["GEMINI_API_KEY"], activates: true }],
    model: { var: "GEMINI_MODEL" },
    generic: { aliases: ["google", "gemini"], host: (host) => host === "generativelanguage.googleapis.com" }
  }
})

export const openaiProviders = [
  openaiProvider,
  azureOpenAIProvider,
  openaiCompatibleProvider,
  vllmProvider,
  lmstudioProvider,
  geminiProvider
] as const
