/**
 * What the cache tiers store and return: a `CacheResult` frozen once when it is stored, so an
 * L1 hit hands the same object back and allocates nothing.
 */
import type { LLMResponse } from "../../domain/Domain.ts"

export type CacheStatus = "hit" | "miss" | "bypass"

export interface CacheResult {
  readonly response: LLMResponse
  readonly cache: CacheStatus
}

/** The frozen result an L1 hit returns as is. */
export const hitOf = (response: LLMResponse): CacheResult =>
  Object.freeze({ response: Object.freeze({ ...response, cached: true }), cache: "hit" as const })

/** Lookups counted for `stats` (the tiers and the flights update the same counts). */
export interface Counts {
  hits: number
  misses: number
}
