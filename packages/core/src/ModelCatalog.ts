/**
 * Embedded model lists for the hosted providers: context windows, output limits and list prices
 * (USD per 1M tokens). Providers configured from env get these models, and models named in
 * YAML without prices borrow the catalog's, so cost accounting works without a price table in
 * every config file.
 *
 * Prices are the providers' public list prices (standard tier, no batch or cache discounts);
 * a config file's own numbers always win.
 */
import type { ModelEntry, ProviderType } from "./ConfigSchema.ts"

const entry = (
  id: string,
  contextWindow: number,
  maxOutputTokens: number | undefined,
  inputCostPer1M: number,
  outputCostPer1M: number
): ModelEntry =>
  maxOutputTokens === undefined
    ? { id, contextWindow, inputCostPer1M, outputCostPer1M }
    : { id, contextWindow, maxOutputTokens, inputCostPer1M, outputCostPer1M }

const embedding = (id: string, contextWindow: number, inputCostPer1M: number): ModelEntry => ({
  id,
  contextWindow,
  inputCostPer1M,
  outputCostPer1M: 0,
  embedding: true
})

/** OpenAI chat and embedding models. The cheap general-purpose model comes first. */
export const openai: ReadonlyArray<ModelEntry> = [
  entry("gpt-4o-mini", 128_000, 16_384, 0.15, 0.6),
  entry("gpt-4o", 128_000, 16_384, 2.5, 10),
  entry("gpt-4.1-nano", 1_047_576, 32_768, 0.1, 0.4),
  entry("gpt-4.1-mini", 1_047_576, 32_768, 0.4, 1.6),
  entry("gpt-4.1", 1_047_576, 32_768, 2, 8),
  entry("gpt-5-nano", 400_000, 128_000, 0.05, 0.4),
  entry("gpt-5-mini", 400_000, 128_000, 0.25, 2),
  entry("gpt-5", 400_000, 128_000, 1.25, 10),
  entry("o4-mini", 200_000, 100_000, 1.1, 4.4),
  entry("o3-mini", 200_000, 100_000, 1.1, 4.4),
  entry("o3", 200_000, 100_000, 2, 8),
  entry("o1", 200_000, 100_000, 15, 60),
  entry("gpt-4-turbo", 128_000, 4_096, 10, 30),
  entry("gpt-4", 8_192, 8_192, 30, 60),
  entry("gpt-3.5-turbo", 16_385, 4_096, 0.5, 1.5),
  embedding("text-embedding-3-small", 8_191, 0.02),
  embedding("text-embedding-3-large", 8_191, 0.13),
  embedding("text-embedding-ada-002", 8_191, 0.1)
]

/** Anthropic models: dated ids and the aliases Anthropic's API accepts. */
export const anthropic: ReadonlyArray<ModelEntry> = [
  entry("claude-3-haiku-20240307", 200_000, 4_096, 0.25, 1.25),
  entry("claude-3-5-haiku-20241022", 200_000, 8_192, 0.8, 4),
  entry("claude-3-5-haiku-latest", 200_000, 8_192, 0.8, 4),
  entry("claude-haiku-4-5-20251001", 200_000, 64_000, 1, 5),
  entry("claude-haiku-4-5", 200_000, 64_000, 1, 5),
  entry("claude-3-5-sonnet-20241022", 200_000, 8_192, 3, 15),
  entry("claude-3-5-sonnet-latest", 200_000, 8_192, 3, 15),
  entry("claude-3-7-sonnet-20250219", 200_000, 64_000, 3, 15),
  entry("claude-3-7-sonnet-latest", 200_000, 64_000, 3, 15),
  entry("claude-sonnet-4-20250514", 200_000, 64_000, 3, 15),
  entry("claude-sonnet-4-0", 200_000, 64_000, 3, 15),
  entry("claude-sonnet-4-5-20250929", 200_000, 64_000, 3, 15),
  entry("claude-sonnet-4-5", 200_000, 64_000, 3, 15),
  entry("claude-opus-4-20250514", 200_000, 32_000, 15, 75),
  entry("claude-opus-4-0", 200_000, 32_000, 15, 75),
  entry("claude-opus-4-1-20250805", 200_000, 32_000, 15, 75),
  entry("claude-opus-4-1", 200_000, 32_000, 15, 75),
  entry("claude-3-opus-20240229", 200_000, 4_096, 15, 75)
]

/** Gemini through Google's OpenAI-compatible endpoint. */
export const gemini: ReadonlyArray<ModelEntry> = [
  entry("gemini-2.0-flash", 1_048_576, 8_192, 0.1, 0.4),
  entry("gemini-2.5-flash", 1_048_576, 65_536, 0.3, 2.5),
  entry("gemini-2.5-pro", 1_048_576, 65_536, 1.25, 10)
]

/** The catalog a provider type draws on (empty for self-hosted types: their models are whatever is loaded). */
export const forType = (type: ProviderType): ReadonlyArray<ModelEntry> => {
  switch (type) {
    case "openai":
    case "azure-openai":
      return openai
    case "anthropic":
      return anthropic
    case "gemini":
      return gemini
    default:
      return []
  }
}

const byId: ReadonlyMap<string, ModelEntry> = new Map(
  [...openai, ...anthropic, ...gemini].map((m) => [m.id, m] as const)
)

/** The catalog entry of a well-known model id, if any. */
export const lookup = (id: string): ModelEntry | undefined => byId.get(id)

/**
 * Fills the fields a configured entry leaves out (context window, prices, output limit, the
 * embedding flag) from the catalog; fields the entry sets are kept.
 */
export const enrich = (model: ModelEntry, type: ProviderType): ModelEntry => {
  const known = forType(type).find((m) => m.id === model.id)
  return known === undefined ? model : { ...known, ...stripUndefined(model) }
}

const stripUndefined = <A extends object>(a: A): A =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as A
