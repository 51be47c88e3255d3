/**
 * The catalog mechanism: model rows (context windows, output limits, list prices in USD per 1M
 * tokens) that provider definitions declare (`models`), and how a configured entry borrows them.
 * Providers configured from env get their definition's rows, and models named in YAML without
 * prices borrow them, so cost accounting works without a price table in every config file; a
 * config file's own numbers always win. The rows themselves live with each provider's
 * definition (`@llm-gateway/openai/OpenAIProvider`, `@llm-gateway/anthropic/AnthropicProvider`).
 */
import type { ModelEntry } from "./ConfigSchema.ts"
import type { ProviderSpec } from "./ProviderSpec.ts"

/** One catalog row; `cache`: prompt-cache read (and write) rates, USD per 1M. */
export const row = (
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

/** Per-1M rates are quoted to at most 6 decimals: `0.15 * 0.5` is 0.075, not 0.07500000000000001. */
export const roundRate = (n: number): number => Math.round(n * 1e6) / 1e6

/** The rows of the first spec (in list order) that lists a model id. */
export const lookup = (id: string, specs: ReadonlyArray<ProviderSpec>): ModelEntry | undefined => {
  for (const spec of specs) {
    const row = spec.models?.find((m) => m.id === id)
    if (row !== undefined) return row
  }
  return undefined
}

/**
 * Fills the fields a configured entry leaves out (context window, prices, output limit, the
 * embedding flag) from the catalog rows of its type; fields the entry sets are kept.
 */
export const enrich = (model: ModelEntry, rows: ReadonlyArray<ModelEntry>): ModelEntry => {
  const known = rows.find((m) => m.id === model.id)
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
