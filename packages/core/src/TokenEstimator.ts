/**
 * Token counts before a request is sent: for trimming conversations to a context window and for
 * cost-based routing. gpt-tokenizer (o200k, the GPT-4o vocabulary) is a real BPE tokenizer; other
 * vendors' tokenizers differ by a few percent, so callers keep a safety margin.
 */
import { countTokens } from "gpt-tokenizer"
import type { ChatMessage } from "./Domain.ts"

/** Per-message overhead of chat formatting (role markers), as OpenAI documents it. */
const MESSAGE_OVERHEAD = 4

export const countTextTokens = (text: string): number => (text.length === 0 ? 0 : countTokens(text))

export const countMessageTokens = (message: ChatMessage): number => MESSAGE_OVERHEAD + countTextTokens(message.content)

export const countMessagesTokens = (messages: ReadonlyArray<ChatMessage>): number => {
  let total = 3 // every reply is primed with the assistant role
  for (const m of messages) total += countMessageTokens(m)
  return total
}

/**
 * Keeps the system prompt(s) and the newest turns that fit in `budget` tokens; drops the oldest
 * non-system turns first. The last message (the new user turn) is always kept.
 */
export const trimToBudget = (messages: ReadonlyArray<ChatMessage>, budget: number): ReadonlyArray<ChatMessage> => {
  const system = messages.filter((m) => m.role === "system")
  const rest = messages.filter((m) => m.role !== "system")
  let used = 3 + system.reduce((n, m) => n + countMessageTokens(m), 0)
  const kept: Array<ChatMessage> = []
  for (let i = rest.length - 1; i >= 0; i--) {
    const cost = countMessageTokens(rest[i])
    if (kept.length > 0 && used + cost > budget) break
    used += cost
    kept.push(rest[i])
  }
  kept.reverse()
  return [...system, ...kept]
}
