/**
 * Gateway request ⇄ Anthropic Messages API, without I/O.
 *
 * Differences from the OpenAI shape that this file absorbs:
 * - system turns are not messages: they go to the top-level `system` (several are joined);
 * - the API wants alternating user/assistant turns: consecutive same-role turns are merged;
 * - `max_tokens` is mandatory: the caller's, else the model entry's `maxOutputTokens`, else 4096;
 * - `temperature` is 0..1 (OpenAI's 0..2 is clamped, so a request valid elsewhere stays valid);
 * - there is no JSON mode: `responseFormat` becomes an instruction in the system prompt;
 * - OpenAI's `user` (an end-user id for abuse monitoring) is Anthropic's `metadata.user_id`;
 *   no other pass-through field has an equivalent (`fieldPolicy`).
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { FinishReason, ProviderRequest, ResponseFormat, ResponsePart, Usage } from "@llm-gateway/core/domain/Domain"
import { makeUsage, messageText } from "@llm-gateway/core/domain/Domain"
import type { FieldPolicy } from "@llm-gateway/core/providers/RequestFields"
import { isPartRefused, type PartRefused, toTurns, type Turn } from "./messages.ts"

export const DEFAULT_MAX_TOKENS = 4096

/** The field rule (core RequestFields): `user` is mapped; the rest is ignored, or refused when it changes the answer. */
export const fieldPolicy: FieldPolicy = { otherwise: "drop", mapped: ["user"] }

/**
 * The SDK (1.x) no longer types the sampling parameters (the API deprecates them for new
 * models) but still sends whatever the body holds, and older models honour them.
 */
export type MessagesParams = Omit<Anthropic.Messages.MessageCreateParamsNonStreaming, "stream"> & {
  temperature?: number
  top_p?: number
}

/**
 * Anthropic has no JSON mode, so structured output is asked for in words. Models follow it
 * well, but nothing enforces it: callers that need a guarantee validate the result
 * (`generateObject` does).
 */
export const jsonInstruction = (format: ResponseFormat): string =>
  format.type === "json_object"
    ? "Respond with one valid JSON object and nothing else: no prose, no Markdown code fences."
    : `Respond with one valid JSON value and nothing else (no prose, no Markdown code fences). ` +
      `It must conform to this JSON Schema named "${format.name}":\n${JSON.stringify(format.schema)}`

/**
 * Thinking budgets for an effort (Anthropic's minimum budget is 1024; above 32k it advises batch
 * requests, so `max` stops there); `none`: no thinking.
 */
const EFFORT_BUDGET = { none: undefined, minimal: 1024, low: 1024, medium: 4096, high: 16384, xhigh: 24576, max: 32768 } as const
/** Anthropic's smallest thinking budget; also the room an effort's budget leaves the answer under a model's output limit. */
const MIN_BUDGET = 1024

/** `reasoning` → `thinking`, with the budget; `undefined` when not asked for. */
export const thinkingBudget = (req: ProviderRequest): number | undefined => {
  const r = req.reasoning
  if (r === undefined) return undefined
  if (r.budgetTokens !== undefined) return Math.max(MIN_BUDGET, r.budgetTokens)
  return r.effort === undefined ? undefined : EFFORT_BUDGET[r.effort]
}

/** The tool choice on Anthropic's wire, and the tools it leaves on offer. */
const toolsAndChoice = (req: ProviderRequest): Pick<MessagesParams, "tools" | "tool_choice"> => {
  const all = req.tools ?? []
  if (all.length === 0) return {}
  const choice = req.toolChoice
  const disable = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {}
  let offered = all
  let wire: Anthropic.Messages.ToolChoice | undefined
  if (choice === undefined) wire = req.parallelToolCalls === false ? { type: "auto", ...disable } : undefined
  else if (choice === "auto") wire = { type: "auto", ...disable }
  else if (choice === "required") wire = { type: "any", ...disable }
  else if (choice === "none") wire = { type: "none" }
  else if ("tool" in choice) wire = { type: "tool", name: choice.tool, ...disable }
  else {
    // a subset: only those tools are offered, in the given mode
    offered = all.filter((t) => choice.oneOf.includes(t.name))
    wire = { type: choice.mode === "required" ? "any" : "auto", ...disable }
  }
  const tools = offered.map((t): Anthropic.Messages.Tool => ({
    name: t.name,
    ...(t.description !== undefined ? { description: t.description } : {}),
    input_schema: t.parameters as Anthropic.Messages.Tool.InputSchema
  }))
  return wire === undefined ? { tools } : { tools, tool_choice: wire }
}

/**
 * With thinking on, the API wants the assistant turn of a tool loop in progress to start with
 * its thinking block. A conversation that reached Anthropic from another family has none (they
 * are dropped, never invented), and Anthropic's own advice is then to leave thinking off.
 */
const toolLoopWithoutThinking = (turns: ReadonlyArray<Turn>): boolean => {
  const last = turns.at(-2)
  if (last?.role !== "assistant" || typeof last.content === "string") return false
  if (!last.content.some((b) => b.type === "tool_use")) return false
  const first = last.content[0]
  return first?.type !== "thinking" && first?.type !== "redacted_thinking"
}

/**
 * Builds the Messages API body: `undefined` when there is no user/assistant turn to send, a
 * `PartRefused` naming the first part Anthropic cannot take. `defaultMaxTokens` is the model
 * entry's `maxOutputTokens` (the default `max_tokens`, and the limit an effort's thinking budget
 * is fitted into); `modelRef` (`provider/model`) names the model in that refusal.
 */
export const toMessagesParams = (
  req: ProviderRequest,
  defaultMaxTokens: number | undefined,
  modelRef: string = req.model
): MessagesParams | PartRefused | undefined => {
  const converted = toTurns(req.messages, modelRef)
  if (isPartRefused(converted)) return converted
  const { turns } = converted
  if (turns.length === 0) return undefined
  const system: Array<Anthropic.Messages.TextBlockParam> = typeof converted.system === "string"
    ? [{ type: "text", text: converted.system }]
    : converted.system ?? []
  if (req.responseFormat !== undefined) system.push({ type: "text", text: jsonInstruction(req.responseFormat) })

  const params: MessagesParams = {
    model: req.model,
    max_tokens: req.maxTokens ?? defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    messages: turns as Array<Anthropic.Messages.MessageParam>,
    ...toolsAndChoice(req)
  }
  if (system.length > 0) {
    // one string unless a block carries a cache breakpoint (the shape callers saw before parts)
    params.system = system.some((b) => b.cache_control != null) ? system : system.map((b) => b.text).join("\n\n")
  }
  let budget = thinkingBudget(req)
  if (budget !== undefined && !toolLoopWithoutThinking(turns)) {
    // thinking counts inside max_tokens: the caller's limit stays the answer's own room
    if (params.max_tokens <= budget) params.max_tokens = budget + params.max_tokens
    // ...within the model's output limit when the budget is the gateway's reading of an effort
    // (`max` on a 32k-output model would otherwise be a 400) and a budget fits under it; a budget
    // the caller named is sent as named, and the provider's answer names the limit
    const limit = defaultMaxTokens
    if (limit !== undefined && params.max_tokens > limit && limit >= 2 * MIN_BUDGET && req.reasoning?.budgetTokens === undefined) {
      params.max_tokens = limit
      budget = Math.min(budget, limit - MIN_BUDGET)
    }
    params.thinking = { type: "enabled", budget_tokens: budget }
  } else if (req.temperature !== undefined) params.temperature = Math.min(1, Math.max(0, req.temperature))
  // Recent Claude models reject temperature and top_p together; temperature wins, as Anthropic
  // advises tuning only one of them. With thinking on, the API takes neither (only the defaults).
  else if (req.topP !== undefined && params.thinking === undefined) params.top_p = req.topP
  if (req.stop !== undefined && req.stop.length > 0) params.stop_sequences = [...req.stop]
  const user = req.extra?.user
  if (typeof user === "string" && user.length > 0) params.metadata = { user_id: user }
  return params
}

export const toFinishReason = (reason: string | null | undefined): FinishReason => {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "unknown"
  }
}

export interface InputUsage {
  readonly input_tokens?: number | null
  readonly cache_creation_input_tokens?: number | null
  readonly cache_read_input_tokens?: number | null
}

/**
 * Prompt tokens in the gateway's convention (OpenAI's: every input token). Anthropic's
 * `input_tokens` EXCLUDES cache reads and writes, which it reports apart; all three are tokens
 * of the prompt, so they are added here and named again in the usage's details.
 */
export const promptTokens = (u: InputUsage): number =>
  (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0)

/** Anthropic's usage → the gateway's: cache reads and writes are billed at their own rates. */
export const toUsage = (u: InputUsage & { readonly output_tokens: number }): Usage =>
  makeUsage(promptTokens(u), u.output_tokens, {
    cachedPromptTokens: u.cache_read_input_tokens,
    cacheWriteTokens: u.cache_creation_input_tokens
  })

/**
 * A response's blocks as gateway parts, in order; `undefined` when the answer is text only.
 * Thinking keeps its signature (and redacted thinking its payload) under `metadata.anthropic`,
 * so the next turn sends them back byte for byte.
 */
export const partsOf = (content: ReadonlyArray<Anthropic.Messages.ContentBlock>): Array<ResponsePart> | undefined => {
  if (content.every((b) => b.type === "text")) return undefined
  const parts: Array<ResponsePart> = []
  for (const block of content) {
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: block.text })
        break
      case "thinking":
        parts.push({ type: "reasoning", text: block.thinking, metadata: { anthropic: { signature: block.signature } } })
        break
      case "redacted_thinking":
        parts.push({ type: "reasoning", text: "", metadata: { anthropic: { redactedData: block.data } } })
        break
      case "tool_use":
        parts.push({ type: "tool-call", id: block.id, name: block.name, params: block.input })
        break
    }
  }
  return parts
}

/** The text of a response: its text blocks, in order (thinking and tool blocks are not the answer). */
export const textOf = (content: ReadonlyArray<Anthropic.Messages.ContentBlock>): string => {
  let out = ""
  for (const block of content) if (block.type === "text") out += block.text
  return out
}

/** The gateway's answer for an Anthropic message (the translated and the pass-through call read it alike). */
export const responseOf = (message: Anthropic.Messages.Message) => {
  const parts = partsOf(message.content)
  return {
    content: textOf(message.content),
    model: message.model,
    usage: toUsage(message.usage),
    finishReason: toFinishReason(message.stop_reason),
    ...(parts !== undefined ? { parts } : {}),
    ...(message.stop_sequence != null ? { stopSequence: message.stop_sequence } : {})
  }
}
