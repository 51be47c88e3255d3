/**
 * Embedded model lists for the hosted providers: context windows, output limits and list prices
 * (USD per 1M tokens). Providers configured from env get these models, and models named in
 * YAML without prices borrow the catalog's, so cost accounting works without a price table in
 * every config file.
 *
 * Prices are the providers' public list prices (standard tier, no batch discounts); a config
 * file's own numbers always win.
 *
 * Prompt-cache rates (`cachedInputCostPer1M`, `cacheWriteCostPer1M`), from the providers'
 * pricing pages (openai.com/api/pricing, docs.anthropic.com "Prompt caching" pricing table):
 * - OpenAI bills cached input at 50% of the input price for gpt-4o / gpt-4o-mini / o1 / o3-mini,
 *   25% for gpt-4.1* / o3 / o4-mini, 10% for gpt-5*; no write surcharge (automatic caching).
 *   gpt-4-turbo, gpt-4, gpt-3.5-turbo and embeddings have no prompt caching: input price.
 * - Anthropic bills cache reads at 0.1× and 5-minute cache writes at 1.25× the input price
 *   (Claude 3 Haiku's published figures are rounded: $0.03 read, $0.30 write).
 * - Gemini: not listed (implicit caching discounts vary by model and date), so cached tokens are
 *   billed at the input price — never less than the upstream charges.
 */
import type { ModelEntry, ProviderType } from "./ConfigSchema.ts"

const entry = (
  id: string,
  contextWindow: number,
  maxOutputTokens: number | undefined,
  inputCostPer1M: number,
  outputCostPer1M: number,
  cache?: { readonly read: number; readonly write?: number }
): ModelEntry => {
  const base: ModelEntry = maxOutputTokens === undefined
    ? { id, contextWindow, inputCostPer1M, outputCostPer1M }
    : { id, contextWindow, maxOutputTokens, inputCostPer1M, outputCostPer1M }
  if (cache === undefined) return base
  return cache.write === undefined
    ? { ...base, cachedInputCostPer1M: cache.read }
    : { ...base, cachedInputCostPer1M: cache.read, cacheWriteCostPer1M: cache.write }
}

/** OpenAI: cached input at `ratio` of the input price (see the header for the ratios). */
const oa = (id: string, ctx: number, maxOut: number, input: number, output: number, ratio: number) =>
  entry(id, ctx, maxOut, input, output, { read: roundRate(input * ratio) })

/** Anthropic: cache reads at 0.1×, 5-minute cache writes at 1.25× the input price. */
const an = (id: string, ctx: number, maxOut: number, input: number, output: number) =>
  entry(id, ctx, maxOut, input, output, { read: roundRate(input * 0.1), write: roundRate(input * 1.25) })

/** Per-1M rates are quoted to at most 6 decimals: `0.15 * 0.5` is 0.075, not 0.07500000000000001. */
const roundRate = (n: number): number => Math.round(n * 1e6) / 1e6

const embedding = (id: string, contextWindow: number, inputCostPer1M: number): ModelEntry => ({
  id,
  contextWindow,
  inputCostPer1M,
  outputCostPer1M: 0,
  embedding: true
})

/** OpenAI chat and embedding models. The cheap general-purpose model comes first. */
export const openai: ReadonlyArray<ModelEntry> = [
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
  entry("gpt-4-turbo", 128_000, 4_096, 10, 30),
  entry("gpt-4", 8_192, 8_192, 30, 60),
  entry("gpt-3.5-turbo", 16_385, 4_096, 0.5, 1.5),
  embedding("text-embedding-3-small", 8_191, 0.02),
  embedding("text-embedding-3-large", 8_191, 0.13),
  embedding("text-embedding-ada-002", 8_191, 0.1)
]

/** Anthropic models: dated ids and the aliases Anthropic's API accepts. */
export const anthropic: ReadonlyArray<ModelEntry> = [
  entry("claude-3-haiku-20240307", 200_000, 4_096, 0.25, 1.25, { read: 0.03, write: 0.3 }),
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
  return known === undefined ? model : { ...known, ...scaledCacheRates(model, known), ...stripUndefined(model) }
}

/**
 * A config that sets its own input price but no cache rates gets the catalog's cache rates
 * scaled by the same factor (a negotiated 20% off input is 20% off cached input too), so a
 * cached token never costs more than an uncached one.
 */
export const scaledCacheRates = (
  model: { readonly inputCostPer1M?: unknown },
  known: ModelEntry
): Partial<ModelEntry> => {
  const input = model.inputCostPer1M
  const base = known.inputCostPer1M
  if (typeof input !== "number" || base === undefined || base === 0 || input === base) return {}
  const factor = input / base
  const out: { cachedInputCostPer1M?: number; cacheWriteCostPer1M?: number } = {}
  if (known.cachedInputCostPer1M !== undefined) out.cachedInputCostPer1M = roundRate(known.cachedInputCostPer1M * factor)
  if (known.cacheWriteCostPer1M !== undefined) out.cacheWriteCostPer1M = roundRate(known.cacheWriteCostPer1M * factor)
  return out
}

const stripUndefined = <A extends object>(a: A): A =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as A
