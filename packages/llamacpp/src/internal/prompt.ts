/**
 * Chat messages → the exact tokens the model reads. With a chat template the model's own
 * wrapper renders the turns (special tokens included) and says where to stop; without one
 * (base and tiny story models) the contents are one plain completion prompt.
 */
import type { ChatHistoryItem, LlamaText, Token } from "node-llama-cpp"
import { type ChatMessage, messageText } from "@llm-gateway/core/domain/Domain"
import type { LoadedModel } from "./loadModel.ts"

export interface RenderedPrompt {
  /** What is handed to LlamaCompletion (which puts `beginningToken` in front itself). */
  readonly tokens: Array<Token>
  /** Every token the model reads: `tokens` plus the beginning token, if any. */
  readonly promptTokens: number
  /** The template's end-of-turn markers; generation stops on them. */
  readonly stopTriggers: ReadonlyArray<LlamaText>
}

const toHistory = (messages: ReadonlyArray<ChatMessage>): Array<ChatHistoryItem> => [
  ...messages.map((m): ChatHistoryItem =>
    m.role === "system"
      ? { type: "system", text: m.content }
      : m.role === "user"
      ? { type: "user", text: messageText(m) }
      : { type: "model", response: [messageText(m)] }
  ),
  // An open model turn: the template renders the assistant header and generation continues there.
  { type: "model", response: [] }
]

/** The plain completion prompt of a model without a chat template: the contents, one per line. */
export const plainPrompt = (messages: ReadonlyArray<ChatMessage>): string => messages.map((m) => m.content).join("\n")

export const renderPrompt = (loaded: LoadedModel, messages: ReadonlyArray<ChatMessage>): RenderedPrompt => {
  const { beginningToken, chatWrapper, model } = loaded
  let tokens: Array<Token>
  let stopTriggers: ReadonlyArray<LlamaText> = []
  if (chatWrapper === undefined) {
    // User text is never parsed for special tokens: "</s>" typed by a user stays text.
    tokens = model.tokenize(plainPrompt(messages), false)
  } else {
    const state = chatWrapper.generateContextState({ chatHistory: toHistory(messages) })
    tokens = state.contextText.tokenize(model.tokenizer)
    stopTriggers = state.stopGenerationTriggers
    // Templates start with BOS themselves; LlamaCompletion adds it too.
    if (beginningToken !== undefined && tokens[0] === beginningToken) tokens = tokens.slice(1)
  }
  return { tokens, promptTokens: tokens.length + (beginningToken === undefined ? 0 : 1), stopTriggers }
}
