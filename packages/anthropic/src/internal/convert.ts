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
import type { FinishReason, ProviderRequest, ResponseFormat, Usage } from "@llm-gateway/core/domain/Domain"
import { makeUsage } from "@llm-gateway/core/domain/Domain"
import type { FieldPolicy } from "@llm-gateway/core/providers/RequestFields"

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

/** Builds the Messages API body; `undefined` when there is no user/assistant turn to send. */
export const toMessagesParams = (
  req: ProviderRequest,
  defaultMaxTokens: number | undefined
): MessagesParams | undefined => {
  const system: Array<string> = []
  const turns: Array<{ role: "user" | "assistant"; content: string }> = []
  for (const m of req.messages) {
    if (m.role === "system") {
      system.push(m.content)
      continue
    }
    const last = turns.at(-1)
    if (last !== undefined && last.role === m.role) last.content = `${last.content}\n\n${m.content}`
    else turns.push({ role: m.role, content: m.content })
  }
  if (turns.length === 0) return undefined
  if (req.responseFormat !== undefined) system.push(jsonInstruction(req.responseFormat))

  const params: MessagesParams = {
    model: req.model,
    max_tokens: req.maxTokens ?? defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    messages: turns
  }
  if (system.length > 0) params.system = system.join("\n\n")
  if (req.temperature !== undefined) params.temperature = Math.min(1, Math.max(0, req.temperature))
  // Recent Claude models reject temperature and top_p together; temperature wins, as Anthropic
  // advises tuning only one of them.
  else if (req.topP !== undefined) params.top_p = req.topP
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

/** The text of a response: its text blocks, in order (thinking and tool blocks are not the answer). */
export const textOf = (content: ReadonlyArray<Anthropic.Messages.ContentBlock>): string => {
  let out = ""
  for (const block of content) if (block.type === "text") out += block.text
  return out
}
