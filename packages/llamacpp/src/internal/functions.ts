/**
 * Tool calls on the embedded model through node-llama-cpp's function calling
 * (notes/rich-messages.md §3 "llama.cpp"): `LlamaChat.generateResponse` with `functions`, whose
 * names and parameters llama.cpp samples under a grammar, so a call is always well-formed JSON
 * for the declared schema. The gateway never runs the functions (no `handler`): the calls are
 * returned as tool-call parts and the caller answers with tool results on the next turn.
 *
 * - The chat wrapper is the model's own template, else node-llama-cpp's `GeneralChatWrapper`
 *   (tiny base models have no template).
 * - `toolChoice: "required"` or a named tool forces a call: the wrapper's context state starts
 *   the answer in function-call mode (`functionCall.initiallyEngaged`), so the first thing
 *   sampled is a function name from the grammar. `auto` lets the model choose; `none` never
 *   reaches here.
 * - Earlier calls and their results go back as the model turn's `functionCall` items.
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions, ChatModelResponse, ChatWrapper, LlamaContextSequence } from "node-llama-cpp"
import type { ChatMessage, ProviderRequest, ResponsePart, ToolCallDelta, ToolDefinition } from "@llm-gateway/core/domain/Domain"
import { messageText } from "@llm-gateway/core/domain/Domain"
import type { LoadedModel } from "./loadModel.ts"

/** The tools offered after the tool choice; `undefined` when the plain completion path applies. */
export const offeredTools = (req: ProviderRequest): ReadonlyArray<ToolDefinition> | undefined => {
  const choice = req.toolChoice
  if (choice === "none" || req.tools === undefined || req.tools.length === 0) return undefined
  if (typeof choice !== "object") return req.tools
  const names = "tool" in choice ? [choice.tool] : choice.oneOf
  const tools = req.tools.filter((t) => names.includes(t.name))
  return tools.length > 0 ? tools : undefined
}

/** Whether the answer must be a call (`required`, a named tool, a subset in required mode). */
export const callForced = (req: ProviderRequest): boolean => {
  const choice = req.toolChoice
  if (choice === "required") return true
  if (typeof choice !== "object") return false
  return "tool" in choice || choice.mode === "required"
}

export const toFunctions = (tools: ReadonlyArray<ToolDefinition>): ChatModelFunctions =>
  Object.fromEntries(tools.map((t) => [t.name, { description: t.description, params: t.parameters as never }]))

const resultOf = (messages: ReadonlyArray<ChatMessage>, from: number, id: string): unknown => {
  for (const m of messages.slice(from)) {
    if (m.role === "user" || m.role === "system") break
    if (typeof m.content === "string") continue
    for (const part of m.content) if (part.type === "tool-result" && part.id === id) return part.result
  }
  return null
}

/** The conversation as node-llama-cpp's history, ending with an open model turn. */
export const toChatHistory = (messages: ReadonlyArray<ChatMessage>): Array<ChatHistoryItem> => {
  const history: Array<ChatHistoryItem> = []
  for (const [i, m] of messages.entries()) {
    if (m.role === "system") history.push({ type: "system", text: m.content })
    else if (m.role === "user") history.push({ type: "user", text: messageText(m) })
    else if (m.role === "assistant") {
      const response: ChatModelResponse["response"] = []
      const parts = typeof m.content === "string" ? [{ type: "text" as const, text: m.content }] : m.content
      for (const part of parts) {
        if (part.type === "text" && part.text.length > 0) response.push(part.text)
        if (part.type === "tool-call") {
          const call: ChatModelFunctionCall = { type: "functionCall", name: part.name, params: part.params, result: resultOf(messages, i + 1, part.id) }
          response.push(call)
        }
      }
      history.push({ type: "model", response })
    }
    // tool messages are folded into the calls they answer (above)
  }
  history.push({ type: "model", response: [] })
  return history
}

/** A wrapper whose answer starts in function-call mode: the model must call a function. */
const forcing = (base: ChatWrapper): ChatWrapper => {
  const wrapper = Object.create(base) as ChatWrapper
  wrapper.generateContextState = (options) => {
    const state = base.generateContextState(options)
    return {
      contextText: state.contextText,
      stopGenerationTriggers: state.stopGenerationTriggers,
      ...(state.ignoreStartText !== undefined ? { ignoreStartText: state.ignoreStartText } : {}),
      functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] }
    }
  }
  return wrapper
}

export const chatWrapperFor = (loaded: LoadedModel, forced: boolean): ChatWrapper => {
  const base = loaded.chatWrapper ?? new loaded.nlc.GeneralChatWrapper()
  return forced ? forcing(base) : base
}

/** Tokens of the rendered prompt (history + function documentation), for the window check and usage. */
export const promptTokensOf = (loaded: LoadedModel, wrapper: ChatWrapper, history: Array<ChatHistoryItem>, functions: ChatModelFunctions): number =>
  wrapper.generateContextState({ chatHistory: history, availableFunctions: functions }).contextText.tokenize(loaded.model.tokenizer).length

export interface FunctionsAnswer {
  readonly text: string
  readonly parts: ReadonlyArray<ResponsePart>
  readonly calls: number
  readonly completionTokens: number
  readonly maxTokensHit: boolean
}

/** Ollama-like ids: llama.cpp's calls have none (`call_0`, `call_1`, … per answer). */
const callId = (index: number) => `call_${index}`

/**
 * One generation with functions on `sequence`. Argument chunks go to `onToolDelta` as llama.cpp
 * samples them (the first chunk of a call with its id and name), text to `onText`.
 */
export const generateWithFunctions = async (args: {
  readonly loaded: LoadedModel
  readonly sequence: LlamaContextSequence
  readonly req: ProviderRequest
  readonly wrapper: ChatWrapper
  readonly history: Array<ChatHistoryItem>
  readonly functions: ChatModelFunctions
  readonly maxTokens: number
  readonly signal: AbortSignal
  readonly onText: (text: string) => void
  readonly onToolDelta: (delta: ToolCallDelta) => void
}): Promise<FunctionsAnswer> => {
  const { loaded, sequence, req } = args
  const chat = new loaded.nlc.LlamaChat({ contextSequence: sequence, chatWrapper: args.wrapper, autoDisposeSequence: false })
  const outputBefore = sequence.tokenMeter.usedOutputTokens
  const opened = new Set<number>()
  try {
    const res = await chat.generateResponse(args.history, {
      functions: args.functions,
      signal: args.signal,
      maxTokens: args.maxTokens,
      ...(req.parallelToolCalls === false ? { maxParallelFunctionCalls: 1 } : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.topP !== undefined ? { topP: req.topP } : {}),
      ...(typeof req.extra?.seed === "number" ? { seed: req.extra.seed } : {}),
      ...(req.stop !== undefined && req.stop.length > 0 ? { customStopTriggers: [...req.stop] } : {}),
      onTextChunk: (text) => {
        if (text.length > 0) args.onText(text)
      },
      onFunctionCallParamsChunk: (chunk) => {
        const first = !opened.has(chunk.callIndex)
        opened.add(chunk.callIndex)
        if (!first && chunk.paramsChunk.length === 0) return
        args.onToolDelta({
          index: chunk.callIndex,
          ...(first ? { id: callId(chunk.callIndex), name: chunk.functionName } : {}),
          ...(chunk.paramsChunk.length > 0 ? { argumentsDelta: chunk.paramsChunk } : {})
        })
      }
    })
    const calls = res.functionCalls ?? []
    const parts: Array<ResponsePart> = []
    if (res.response.length > 0) parts.push({ type: "text", text: res.response })
    for (const [index, call] of calls.entries()) {
      parts.push({ type: "tool-call", id: callId(index), name: call.functionName, params: call.params ?? {} })
    }
    return {
      text: res.response,
      parts,
      calls: calls.length,
      completionTokens: sequence.tokenMeter.usedOutputTokens - outputBefore,
      maxTokensHit: res.metadata.stopReason === "maxTokens"
    }
  } finally {
    chat.dispose({ disposeSequence: false })
  }
}
