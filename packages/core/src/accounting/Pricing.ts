/**
 * What a request costs, from the per-model prices in config (`inputCostPer1M`,
 * `outputCostPer1M`, US dollars per million tokens). A model without prices costs 0: that is
 * how local models (Ollama, LM Studio, vLLM, llama.cpp) are normally configured. Prices set on
 * a local model are honoured (an operator may want to account for their own GPUs).
 *
 * Prompt-cache tokens: `Usage.promptTokens` includes them (OpenAI's convention, see Domain
 * `Usage`); `cachedPromptTokens` are billed at `cachedInputCostPer1M` and `cacheWriteTokens` at
 * `cacheWriteCostPer1M`, each defaulting to the input price when the model has no such rate.
 *
 * Every cost is rounded by {@link roundUsd}: 1e-10 USD, at most 12 significant digits.
 *
 * Token estimates are deliberately cheap (characters / 4): they order candidates by cost and
 * feed the tokens-per-minute limiter before the upstream has answered; the bill uses the
 * upstream's own usage.
 */
import type { ChatMessage, Usage } from "../domain/Domain.ts"
import { estimateTokens, FILE_TOKENS, partText, tokensOfChars } from "./TokenEstimator.ts"

export { estimateTokens }

export interface Prices {
  readonly inputCostPer1M?: number | undefined
  readonly outputCostPer1M?: number | undefined
  /** Prompt tokens read from the provider's prompt cache (default: the input price). */
  readonly cachedInputCostPer1M?: number | undefined
  /** Prompt tokens written to the provider's prompt cache (default: the input price). */
  readonly cacheWriteCostPer1M?: number | undefined
}

/**
 * The one rounding of a USD amount: to 1e-10 (a request of a few tokens still costs more than
 * 0, so never to cents) and to at most 12 significant digits, so sums and products print as
 * `0.000006`, not `0.000005999999999999999`. Used wherever a cost is computed or summed.
 */
export const roundUsd = (usd: number): number => {
  if (!Number.isFinite(usd)) return usd
  const r = Math.round(usd * 1e10) / 1e10
  // Below 100 USD the 1e-10 step already leaves at most 12 significant digits.
  return Math.abs(r) < 100 ? r : Number(r.toPrecision(12))
}

/** Output tokens assumed when the request sets no `maxTokens` (only for estimates). */
export const DEFAULT_OUTPUT_TOKENS = 512

/**
 * Prompt tokens of a conversation: the text plus a few tokens of framing per message. Parts count
 * what they carry (`partText`: text, reasoning, a tool call's name and arguments, a tool's result;
 * a file at `FILE_TOKENS`), as the tokenizer's count does (`makeTokenEstimator`), so that count
 * stays at or above this one. Tool results are where an agent's conversation grows.
 */
export const estimatePromptTokens = (messages: ReadonlyArray<ChatMessage>): number =>
  estimateContentTokens(messages) + 4 * messages.length

/** What the messages carry, in tokens, without the per-message framing (see `estimatePromptTokens`). */
export const estimateContentTokens = (messages: ReadonlyArray<ChatMessage>): number => {
  let chars = 0
  let files = 0
  for (let i = 0; i < messages.length; i++) {
    const content = messages[i].content
    if (typeof content === "string") {
      chars += content.length
      continue
    }
    for (let j = 0; j < content.length; j++) {
      const text = partText(content[j])
      if (text === undefined) files++
      else chars += text.length
    }
  }
  return tokensOfChars(chars) + files * FILE_TOKENS
}

export const isPriced = (prices: Prices): boolean =>
  (prices.inputCostPer1M ?? 0) > 0 || (prices.outputCostPer1M ?? 0) > 0

/** Cost in USD of `promptTokens` in (none of them cached) and `completionTokens` out. */
export const costOfTokens = (prices: Prices, promptTokens: number, completionTokens: number): number =>
  roundUsd((promptTokens * (prices.inputCostPer1M ?? 0) + completionTokens * (prices.outputCostPer1M ?? 0)) / 1_000_000)

/**
 * Cost in USD of a finished request, from the usage the upstream reported: cached and
 * cache-write prompt tokens at their own rates, the rest of the prompt at the input price.
 */
export const costOfUsage = (prices: Prices, usage: Usage): number => {
  const cached = usage.cachedPromptTokens ?? 0
  const written = usage.cacheWriteTokens ?? 0
  if (cached === 0 && written === 0) return costOfTokens(prices, usage.promptTokens, usage.completionTokens)
  const input = prices.inputCostPer1M ?? 0
  const fresh = Math.max(usage.promptTokens - cached - written, 0)
  return roundUsd(
    (fresh * input +
      cached * (prices.cachedInputCostPer1M ?? input) +
      written * (prices.cacheWriteCostPer1M ?? input) +
      usage.completionTokens * (prices.outputCostPer1M ?? 0)) / 1_000_000
  )
}

/**
 * Estimated cost of a request before it is sent: estimated prompt tokens in, `maxTokens`
 * (or {@link DEFAULT_OUTPUT_TOKENS}) out — the most the request can cost on output.
 */
export const estimateRequestCost = (prices: Prices, promptTokens: number, maxTokens: number | undefined): number =>
  costOfTokens(prices, promptTokens, maxTokens ?? DEFAULT_OUTPUT_TOKENS)
