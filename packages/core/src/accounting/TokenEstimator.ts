/**
 * Token counts before a request is sent, for trimming conversations to a context window.
 * gpt-tokenizer (o200k, the GPT-4o vocabulary) is a real BPE tokenizer; other vendors'
 * tokenizers differ by a few percent, so callers keep a safety margin.
 *
 * Its tables cost tens of MB of RSS (notes/benchmarks.md), so it is loaded on first use (the first `chat` that needs
 * trimming), not when the gateway starts.
 */
import { Effect } from "effect"
import { type ChatMessage, type MessagePart, messageParts } from "../domain/Domain.ts"

/**
 * The one cheap estimate, for when nothing has counted yet (the router's window check, the
 * tokens-per-minute limiter, a provider's usage when the upstream reports none): roughly 4
 * characters a token for English text and code (OpenAI's rule of thumb).
 */
export const tokensOfChars = (chars: number): number => Math.ceil(chars / 4)

/** `tokensOfChars` of one text. */
export const estimateTokens = (text: string): number => tokensOfChars(text.length)

/** Per-message overhead of chat formatting (role markers), as OpenAI documents it. */
const MESSAGE_OVERHEAD = 4
/**
 * A file's tokens for estimates. They depend on the model (image tiles, audio seconds); OpenAI's
 * high-detail 1024 px image is 765 tokens, a fair budget for trimming and window checks.
 */
export const FILE_TOKENS = 765

export interface TokenEstimator {
  readonly countText: (text: string) => number
  readonly countMessage: (message: ChatMessage) => number
  readonly countMessages: (messages: ReadonlyArray<ChatMessage>) => number
  /**
   * Keeps the system prompt(s) and the newest turns that fit in `budget` tokens; drops the
   * oldest non-system turns first. The last message (the new user turn) is always kept.
   */
  readonly trimToBudget: (messages: ReadonlyArray<ChatMessage>, budget: number) => ReadonlyArray<ChatMessage>
}

/**
 * The text a part carries for token counts: text and reasoning as they are, a tool call's name and
 * JSON arguments, a tool's result (its text, or its JSON); `undefined` for a file (`FILE_TOKENS`).
 * The router's estimate (`Pricing.estimatePromptTokens`) and the tokenizer's count both read it,
 * so the tokenizer's count never falls below the estimate for a part.
 */
export const partText = (part: MessagePart): string | undefined => {
  switch (part.type) {
    case "text":
    case "reasoning":
      return part.text
    case "file":
      return undefined
    case "tool-call":
      return part.name + (JSON.stringify(part.params ?? null) ?? "")
    case "tool-result":
      return typeof part.result === "string" ? part.result : JSON.stringify(part.result ?? null) ?? ""
  }
}

export const makeTokenEstimator = (countTokens: (text: string) => number): TokenEstimator => {
  const countText = (text: string) => (text.length === 0 ? 0 : countTokens(text))
  const countMessage = (m: ChatMessage) => {
    if (typeof m.content === "string") return MESSAGE_OVERHEAD + countText(m.content)
    let total = MESSAGE_OVERHEAD
    for (const part of messageParts(m)) {
      const text = partText(part)
      total += text === undefined ? FILE_TOKENS : countText(text)
    }
    return total
  }
  const countMessages = (messages: ReadonlyArray<ChatMessage>) => {
    let total = 3 // every reply is primed with the assistant role
    for (const m of messages) total += countMessage(m)
    return total
  }
  const trimToBudget = (messages: ReadonlyArray<ChatMessage>, budget: number) => {
    const system = messages.filter((m) => m.role === "system")
    const rest = messages.filter((m) => m.role !== "system")
    let used = 3 + system.reduce((n, m) => n + countMessage(m), 0)
    const kept: Array<ChatMessage> = []
    for (let i = rest.length - 1; i >= 0; i--) {
      const cost = countMessage(rest[i])
      if (kept.length > 0 && used + cost > budget) break
      used += cost
      kept.push(rest[i])
    }
    kept.reverse()
    return [...system, ...kept]
  }
  return { countText, countMessage, countMessages, trimToBudget }
}

let loaded: Promise<TokenEstimator> | undefined
let loadedForWindow: Promise<TokenEstimator> | undefined

/** The gpt-tokenizer estimator, imported once per process on first use. */
export const tokenEstimator: Effect.Effect<TokenEstimator> = Effect.promise(() =>
  loaded ??= import("gpt-tokenizer").then((m) => makeTokenEstimator(m.countTokens))
)

/**
 * The count conversation trimming uses: per message, the larger of the tokenizer's count and
 * the router's chars÷4 estimate (`estimateTokens`), plus the same framing. The router checks a
 * request against each candidate's window with the estimate (it runs on every request, the
 * tokenizer would cost too much there); prose runs at ~5 chars/token, so a history trimmed by
 * the tokenizer alone could pass the upstream and still fail the router's check — forever, as
 * the history only grows. A history that fits by this count fits both.
 */
export const windowTokenEstimator: Effect.Effect<TokenEstimator> = Effect.promise(() =>
  loadedForWindow ??= import("gpt-tokenizer").then((m) =>
    makeTokenEstimator((text) => Math.max(m.countTokens(text), estimateTokens(text)))
  )
)
