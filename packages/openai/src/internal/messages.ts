/**
 * Gateway messages and tools → OpenAI chat-completions shapes (notes/rich-messages.md §3, the
 * OpenAI table). Text-only conversations go out as they came (no copy); parts map one by one:
 * images to `image_url`, audio to `input_audio`, other files to `file`, tool calls to the
 * assistant's `tool_calls`, each tool result to its own `tool` message. Reasoning parts are
 * dropped: OpenAI's wire takes no reasoning input.
 */
import {
  type ChatMessage,
  type FilePart,
  type ProviderRequest,
  type ToolChoice
} from "@llm-gateway/core/domain/Domain"
import { InvalidRequest } from "@llm-gateway/core/domain/LLMError"

type Wire = Record<string, unknown>

const plain = (m: ChatMessage): boolean =>
  typeof m.content === "string" && m.options === undefined

const fileUrl = (part: FilePart): string =>
  typeof part.data === "string" ? `data:${part.mediaType};base64,${part.data}` : part.data.href

const AUDIO_FORMATS: Record<string, "wav" | "mp3"> = {
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/wave": "wav",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3"
}

const openaiOptions = (part: { readonly options?: Readonly<Record<string, unknown>> | undefined }) =>
  (part.options?.openai ?? undefined) as { readonly imageDetail?: string; readonly fileId?: string } | undefined

const filePart = (part: FilePart, param: string, model: string): Wire => {
  const o = openaiOptions(part)
  if (part.mediaType.startsWith("image/")) {
    return { type: "image_url", image_url: { url: fileUrl(part), ...(o?.imageDetail !== undefined ? { detail: o.imageDetail } : {}) } }
  }
  if (part.mediaType.startsWith("audio/")) {
    const format = AUDIO_FORMATS[part.mediaType]
    if (format === undefined || typeof part.data !== "string") {
      throw new InvalidRequest({
        model,
        param,
        message: format === undefined
          ? `${param}: audio ${part.mediaType} is not supported by OpenAI (wav or mp3)`
          : `${param}: audio input must be base64 data, not a URL`
      })
    }
    return { type: "input_audio", input_audio: { data: part.data, format } }
  }
  if (o?.fileId !== undefined) return { type: "file", file: { file_id: o.fileId } }
  return { type: "file", file: { file_data: fileUrl(part), ...(part.fileName !== undefined ? { filename: part.fileName } : {}) } }
}

const resultText = (result: unknown): string => typeof result === "string" ? result : JSON.stringify(result ?? null)

/** The wire messages of a request (throws `InvalidRequest` naming a part OpenAI cannot take). */
export const wireMessages = (messages: ReadonlyArray<ChatMessage>, model: string): ReadonlyArray<unknown> => {
  if (messages.every(plain)) return messages
  const out: Array<Wire> = []
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]
    if (typeof m.content === "string") {
      out.push({ role: m.role, content: m.content })
      continue
    }
    if (m.role === "tool") {
      for (const r of m.content) out.push({ role: "tool", tool_call_id: r.id, content: resultText(r.result) })
      continue
    }
    const content: Array<Wire> = []
    const toolCalls: Array<Wire> = []
    const results: Array<Wire> = []
    for (let j = 0; j < m.content.length; j++) {
      const part = m.content[j]
      switch (part.type) {
        case "text":
          content.push({ type: "text", text: part.text })
          break
        case "file":
          content.push(filePart(part, `messages[${i}].content[${j}]`, model))
          break
        case "tool-call":
          toolCalls.push({ id: part.id, type: "function", function: { name: part.name, arguments: JSON.stringify(part.params ?? {}) } })
          break
        case "tool-result":
          // a provider-executed result inside the assistant turn: OpenAI wants it as a tool message
          results.push({ role: "tool", tool_call_id: part.id, content: resultText(part.result) })
          break
        case "reasoning":
          break
      }
    }
    if (m.role === "assistant") {
      // OpenAI's assistant turn takes text only (string), and `null` beside tool calls
      let text = ""
      for (const c of content) if (c.type === "text") text += c.text as string
      const turn: Wire = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text }
      if (toolCalls.length > 0) turn.tool_calls = toolCalls
      out.push(turn)
      for (const r of results) out.push(r)
    } else {
      out.push({ role: m.role, content })
    }
  }
  return out
}

const wireToolChoice = (choice: ToolChoice): unknown => {
  if (typeof choice === "string") return choice
  if ("tool" in choice) return { type: "function", function: { name: choice.tool } }
  return {
    type: "allowed_tools",
    allowed_tools: { mode: choice.mode ?? "auto", tools: choice.oneOf.map((name) => ({ type: "function", function: { name } })) }
  }
}

/** `tools`, `tool_choice`, `parallel_tool_calls`, `reasoning_effort` onto a body. */
export const fillTools = (body: Wire, req: ProviderRequest): void => {
  if (req.tools !== undefined && req.tools.length > 0) {
    const tools = new Array<Wire>(req.tools.length)
    for (let i = 0; i < tools.length; i++) {
      // the wire's key order (name, description, parameters, strict), set in place rather than spread
      const t = req.tools[i]
      const fn: Wire = { name: t.name }
      if (t.description !== undefined) fn.description = t.description
      fn.parameters = t.parameters
      if (t.strict !== undefined) fn.strict = t.strict
      tools[i] = { type: "function", function: fn }
    }
    body.tools = tools
  }
  if (req.toolChoice !== undefined) body.tool_choice = wireToolChoice(req.toolChoice)
  if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls
  if (req.reasoning?.effort !== undefined) body.reasoning_effort = req.reasoning.effort
}
