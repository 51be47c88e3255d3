/**
 * Gateway messages made of parts ⇄ Ollama's `/api/chat` (notes/rich-messages.md §3 "Ollama"),
 * without I/O.
 *
 * - Text parts of one message are joined into `content`; images go to `images` as bytes (the
 *   SDK re-encodes them). Never as strings: the SDK reads a string that names an existing file
 *   from the gateway's own disk, so a caller's "base64" of `/etc//passwd` would be sent as an
 *   image. A URL image would need a fetch the gateway does not make: InvalidRequest naming the
 *   part, unless it is a `data:` URL. PDF and audio: InvalidRequest naming the part.
 * - Assistant tool calls carry their arguments as an object; tool results become `tool`
 *   messages with `tool_name` (Ollama has no call ids).
 * - Reasoning goes back as `thinking`, unless it carries another family's provider data
 *   (Anthropic's signature …): that is dropped, never turned into text (§4).
 * - `toolChoice`: Ollama has no such field. `none` sends no tools; a named tool or a subset
 *   sends only those; `required` cannot force a call (a documented limit).
 */
import type { ChatMessage, FilePart, ProviderRequest, ResponsePart, ToolCallDelta } from "@llm-gateway/core/domain/Domain"
import type { Message, Tool, ToolCall } from "ollama"

/** A part Ollama cannot take: `param` names it (`messages[2].content[1]`). */
export interface PartRefused {
  readonly param: string
  readonly message: string
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v)

/** Families whose reasoning is bound to their own API (signatures, encrypted payloads). */
const FOREIGN_FAMILIES = ["anthropic", "openai"]

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const imageBytes = (part: FilePart, at: string, model: string): Uint8Array | PartRefused => {
  let data: string
  if (typeof part.data === "string") data = part.data
  else {
    const inline = /^data:[^;,]*;base64,(.*)$/s.exec(part.data.href)
    if (inline === null) {
      return { param: at, message: `${at}: image URLs are not supported by ${model}; send the image as base64 data` }
    }
    data = inline[1]!
  }
  data = data.replace(/\s+/g, "")
  if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
    return { param: at, message: `${at}: image data is not valid base64` }
  }
  return new Uint8Array(Buffer.from(data, "base64"))
}

const resultText = (result: unknown): string => (typeof result === "string" ? result : JSON.stringify(result) ?? "")

const isForeignReasoning = (options: unknown): boolean => isRec(options) && FOREIGN_FAMILIES.some((f) => f in options)

export interface Converted {
  readonly messages: Array<Message>
  /** Where the image parts are (`messages[i].content[j]`), to name one in a capability refusal. */
  readonly images: ReadonlyArray<string>
}

/** Converts the conversation; the first part Ollama cannot take is refused. */
export const toOllamaMessages = (messages: ReadonlyArray<ChatMessage>, model: string): Converted | PartRefused => {
  const out: Array<Message> = []
  const images: Array<string> = []
  for (const [i, m] of messages.entries()) {
    if (typeof m.content === "string") {
      out.push({ role: m.role, content: m.content })
      continue
    }
    if (m.role === "tool") {
      for (const part of m.content) out.push({ role: "tool", tool_name: part.name, content: resultText(part.result) })
      continue
    }
    let content = ""
    let thinking = ""
    const msgImages: Array<Uint8Array> = []
    const calls: Array<ToolCall> = []
    for (const [j, part] of m.content.entries()) {
      const at = `messages[${i}].content[${j}]`
      switch (part.type) {
        case "text":
          content += part.text
          break
        case "file": {
          if (!part.mediaType.toLowerCase().startsWith("image/")) {
            return { param: at, message: `${at}: ${part.mediaType} input is not supported by ${model} (images only)` }
          }
          const bytes = imageBytes(part, at, model)
          if (!(bytes instanceof Uint8Array)) return bytes
          msgImages.push(bytes)
          images.push(at)
          break
        }
        case "reasoning":
          if (!isForeignReasoning(part.options)) thinking += part.text
          break
        case "tool-call":
          calls.push({ function: { name: part.name, arguments: isRec(part.params) ? part.params : {} } })
          break
        case "tool-result":
          // a provider-executed result inside an assistant turn: Ollama has none; sent as a tool turn
          out.push({ role: "tool", tool_name: part.name, content: resultText(part.result) })
          break
      }
    }
    const message: Message = { role: m.role, content }
    if (msgImages.length > 0) message.images = msgImages
    if (thinking.length > 0 && m.role === "assistant") message.thinking = thinking
    if (calls.length > 0) message.tool_calls = calls
    out.push(message)
  }
  return { messages: out, images }
}

/** The tools to send, after the tool choice (Ollama has no tool_choice field). */
export const toOllamaTools = (req: ProviderRequest): Array<Tool> | undefined => {
  const choice = req.toolChoice
  let tools = req.tools ?? []
  if (choice === "none") return undefined
  if (typeof choice === "object") {
    const names = "tool" in choice ? [choice.tool] : choice.oneOf
    tools = tools.filter((t) => names.includes(t.name))
  }
  if (tools.length === 0) return undefined
  return tools.map((t) => ({
    type: "function",
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters as Tool["function"]["parameters"]
    }
  }))
}

/** `reasoning` → `think`: the effort level Ollama knows (`none`: off), else on. */
export const toThink = (req: ProviderRequest): boolean | "low" | "medium" | "high" | undefined => {
  const r = req.reasoning
  if (r === undefined) return undefined
  if (r.effort === "none") return false
  if (r.effort === "minimal" || r.effort === "low") return "low"
  if (r.effort === "medium" || r.effort === "high") return r.effort
  if (r.effort === "xhigh" || r.effort === "max") return "high"
  return true
}

/** Ollama has no call ids: minted per answer, in order (`call_0`, `call_1`, …). */
export const callId = (index: number): string => `call_${index}`

/** An answer's thinking, text and tool calls as parts; `undefined` when it is text only. */
export const partsOf = (message: Pick<Message, "content" | "thinking" | "tool_calls"> | undefined): Array<ResponsePart> | undefined => {
  if (message === undefined) return undefined
  const calls = message.tool_calls ?? []
  const thinking = message.thinking ?? ""
  if (calls.length === 0 && thinking.length === 0) return undefined
  const parts: Array<ResponsePart> = []
  if (thinking.length > 0) parts.push({ type: "reasoning", text: thinking })
  if (message.content.length > 0) parts.push({ type: "text", text: message.content })
  for (const [index, call] of calls.entries()) {
    parts.push({ type: "tool-call", id: callId(index), name: call.function.name, params: call.function.arguments ?? {} })
  }
  return parts
}

/**
 * A streamed tool call: Ollama sends each call whole, so it is one delta with the id, the name
 * and all of the arguments. `index` continues the count across the stream's lines.
 */
export const callDelta = (call: ToolCall, index: number): ToolCallDelta => ({
  index,
  id: callId(index),
  name: call.function.name,
  argumentsDelta: JSON.stringify(call.function.arguments ?? {})
})
