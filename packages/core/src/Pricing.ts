/**
 * What a request costs, from the per-model prices in config (`inputCostPer1M`,
 * `outputCostPer1M`, US dollars per million tokens). A model without prices costs 0: that is
 * how local models (Ollama, LM Studio, vLLM, llama.cpp) are normally configured. Prices set on
 * a local model are honoured (an operator may want to account for their own GPUs).
 *
 * Token estimates are deliberately cheap (characters / 4): they order candidates by cost and
 * feed the tokens-per-minute limiter before the upstream has answered; the bill uses the
 * upstream's own usage.
 */
import type { ChatMessage, Usage } from "./Domain.ts"

export interface Prices {
  readonly inputCostPer1M?: number | undefined
  readonly outputCostPer1M?: number | undefined
}

/** Output tokens assumed when the request sets no `maxTokens` (only for estimates). */
export const DEFAULT_OUTPUT_TOKENS = 512

/** Roughly 4 characters per token for English text and code (OpenAI's rule of thumb). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4)

/** Prompt tokens of a conversation: the text plus a few tokens of framing per message. */
export const estimatePromptTokens = (messages: ReadonlyArray<ChatMessage>): number => {
  let chars = 0
  for (let i = 0; i < messages.length; i++) chars += messages[i].content.length
  return Math.ceil(chars / 4) + 4 * messages.length
}

export const isPriced = (prices: Prices): boolean =>
  (prices.inputCostPer1M ?? 0) > 0 || (prices.outputCostPer1M ?? 0) > 0

/** Cost in USD of `promptTokens` in and `completionTokens` out. */
export const costOfTokens = (prices: Prices, promptTokens: number, completionTokens: number): number =>
  (promptTokens * (prices.inputCostPer1M ?? 0) + completionTokens * (prices.outputCostPer1M ?? 0)) / 1_000_000

/** Cost in USD of a finished request, from the usage the upstream reported. */
export const costOfUsage = (prices: Prices, usage: Usage): number =>
  costOfTokens(prices, usage.promptTokens, usage.completionTokens)

/**
 * Estimated cost of a request before it is sent: estimated prompt tokens in, `maxTokens`
 * (or {@link DEFAULT_OUTPUT_TOKENS}) out — the most the request can cost on output.
 */
export const estimateRequestCost = (prices: Prices, promptTokens: number, maxTokens: number | undefined): number =>
  costOfTokens(prices, promptTokens, maxTokens ?? DEFAULT_OUTPUT_TOKENS)
