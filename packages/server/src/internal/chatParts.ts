/**
 * The rich half of OpenAI's chat-completions wire (notes/rich-messages.md §3): content parts,
 * tool messages and assistant `tool_calls` in, `tool_calls` and `reasoning_content` out, plus
 * `tools` / `tool_choice` / `parallel_tool_calls` / `reasoning_effort`. chatWire.ts keeps the
 * text path; this file turns the rest into the gateway's parts and back.
 */
import type {
  AssistantPart,
  ChatMessage,
  ReasoningEffort,
  ResponsePart,
  StreamChunk,
  ToolChoice,
  ToolDefinition,
  UserPart
} from "@llm-gateway/core/domain/Domain"
import { parseArguments } from "@llm-gateway/core/domain/StreamedParts"
import * as V from "./validate.ts"

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s

const EXT_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" }

const imageType = (href: string): string => {
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(href)?.[1]?.toLowerCase()
  return (ext !== undefined ? EXT_TYPES[ext] : undefined) ?? "image/*"
}

const textOf = (raw: unknown, param: string): string => {
  if (typeof raw === "string") return raw
  if (!Array.isArray(raw)) return V.fail(param, `'${param}' must be a string or an array of text parts`)
  return raw.map((p, i) => {
    const part = V.object(p, `${param}[${i}]`)
    if (part.type !== "text") V.fail(`${param}[${i}].type`, `'${param}[${i}].type' must be "text" here`)
    return V.string(part, "text", `${param}[${i}].text`)
  }).join("\n")
}

/** One user content part; `undefined` for a text part (the caller keeps text parts as text). */
const userPart = (raw: unknown, param: string): UserPart => {
  const part = V.object(raw, param)
  switch (part.type) {
    case "text":
      return { type: "text", text: V.string(part, "text", `${param}.text`) }
    case "image_url": {
      const img = V.object(part.image_url, `${param}.image_url`)
      const url = V.string(img, "url", `${param}.image_url.url`)
      const detail = V.optString(img, "detail", `${param}.image_url.detail`)
      const options = detail !== undefined ? { options: { openai: { imageDetail: detail } } } : {}
      const m = DATA_URL.exec(url)
      if (m !== null) return { type: "file", mediaType: m[1], data: m[2], ...options }
      if (!/^https?:\/\//.test(url)) V.fail(`${param}.image_url.url`, `'${param}.image_url.url' must be an http(s) URL or a base64 data URL`)
      return { type: "file", mediaType: imageType(url), data: { _tag: "URL", href: url }, ...options }
    }
    case "input_audio": {
      const audio = V.object(part.input_audio, `${param}.input_audio`)
      const format = V.string(audio, "format", `${param}.input_audio.format`)
      if (format !== "wav" && format !== "mp3") V.fail(`${param}.input_audio.format`, `'${param}.input_audio.format' must be one of wav, mp3`)
      return { type: "file", mediaType: format === "wav" ? "audio/wav" : "audio/mpeg", data: V.string(audio, "data", `${param}.input_audio.data`) }
    }
    case "file": {
      const file = V.object(part.file, `${param}.file`)
      const fileName = V.optString(file, "filename", `${param}.file.filename`)
      const fileId = V.optString(file, "file_id", `${param}.file.file_id`)
      const name = fileName !== undefined ? { fileName } : {}
      if (fileId !== undefined) return { type: "file", mediaType: "application/octet-stream", data: "", ...name, options: { openai: { fileId } } }
      const m = DATA_URL.exec(V.string(file, "file_data", `${param}.file.file_data`))
      if (m === null) return V.fail(`${param}.file.file_data`, `'${param}.file.file_data' must be a base64 data URL`)
      return { type: "file", mediaType: m[1], data: m[2], ...name }
    }
    default:
      return V.fail(`${param}.type`, `'${param}.type' must be one of text, image_url, input_audio, file`)
  }
}

/**
 * One wire message as the gateway's message; `names` maps the tool-call ids seen so far to their
 * tool names (a tool message carries only the id; Anthropic and Ollama want the name).
 */
export const readRichMessage = (m: V.Body, role: "system" | "user" | "assistant" | "tool", param: string, names: Map<string, string>): ChatMessage => {
  if (role === "system") return { role, content: textOf(m.content, `${param}.content`) }
  if (role === "tool") {
    const id = V.string(m, "tool_call_id", `${param}.tool_call_id`)
    const result = textOf(m.content, `${param}.content`)
    return { role, content: [{ type: "tool-result", id, name: names.get(id) ?? "", isFailure: false, result }] }
  }
  if (role === "user") {
    if (typeof m.content === "string") return { role, content: m.content }
    if (!Array.isArray(m.content)) return V.fail(`${param}.content`, `'${param}.content' must be a string or an array of content parts`)
    const parts = m.content.map((p, i) => userPart(p, `${param}.content[${i}]`))
    // text parts alone stay one string (a newline between parts, as before parts existed)
    return parts.every((p) => p.type === "text")
      ? { role, content: parts.map((p) => (p as { text: string }).text).join("\n") }
      : { role, content: parts }
  }
  const text = m.content === undefined || m.content === null ? "" : textOf(m.content, `${param}.content`)
  const calls = m.tool_calls
  if (calls === undefined || calls === null || (Array.isArray(calls) && calls.length === 0)) return { role, content: text }
  if (!Array.isArray(calls)) return V.fail(`${param}.tool_calls`, `'${param}.tool_calls' must be an array`)
  const parts: Array<AssistantPart> = text === "" ? [] : [{ type: "text", text }]
  calls.forEach((c, j) => {
    const call = V.object(c, `${param}.tool_calls[${j}]`)
    const id = V.string(call, "id", `${param}.tool_calls[${j}].id`)
    const fn = V.object(call.function, `${param}.tool_calls[${j}].function`)
    const name = V.string(fn, "name", `${param}.tool_calls[${j}].function.name`)
    names.set(id, name)
    parts.push({ type: "tool-call", id, name, params: parseArguments(V.string(fn, "arguments", `${param}.tool_calls[${j}].function.arguments`)) })
  })
  return { role, content: parts }
}

export const readTools = (body: V.Body): ReadonlyArray<ToolDefinition> | undefined => {
  const raw = body.tools
  if (raw === undefined || raw === null) return undefined
  if (!Array.isArray(raw)) return V.fail("tools", "'tools' must be an array")
  return raw.map((t, i) => {
    const tool = V.object(t, `tools[${i}]`)
    if (tool.type !== "function") V.fail(`tools[${i}].type`, `'tools[${i}].type' must be "function"`)
    const fn = V.object(tool.function, `tools[${i}].function`)
    const name = V.string(fn, "name", `tools[${i}].function.name`)
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) V.fail(`tools[${i}].function.name`, `'tools[${i}].function.name' must be 1-64 letters, digits, _ or -`)
    const description = V.optString(fn, "description", `tools[${i}].function.description`)
    const strict = V.optBoolean(fn, "strict", `tools[${i}].function.strict`)
    const parameters = fn.parameters === undefined || fn.parameters === null
      ? { type: "object", properties: {} }
      : V.object(fn.parameters, `tools[${i}].function.parameters`)
    return { name, parameters, ...(description !== undefined ? { description } : {}), ...(strict !== undefined ? { strict } : {}) }
  })
}

export const readToolChoice = (body: V.Body): ToolChoice | undefined => {
  const raw = body.tool_choice
  if (raw === undefined || raw === null) return undefined
  if (raw === "auto" || raw === "none" || raw === "required") return raw
  const o = V.object(raw, "tool_choice")
  if (o.type === "function") return { tool: V.string(V.object(o.function, "tool_choice.function"), "name", "tool_choice.function.name") }
  return V.fail("tool_choice", `'tool_choice' must be one of auto, none, required, or { type: "function", function: { name } }`)
}

const EFFORTS = new Set(["minimal", "low", "medium", "high"])
export const readReasoningEffort = (body: V.Body): ReasoningEffort | undefined => {
  const effort = V.optString(body, "reasoning_effort")
  if (effort !== undefined && !EFFORTS.has(effort)) V.fail("reasoning_effort", "'reasoning_effort' must be one of minimal, low, medium, high")
  return effort as ReasoningEffort | undefined
}

// ---- out -------------------------------------------------------------------------------------

/** The assistant message of an answer in OpenAI's shape (`content: null` beside tool calls). */
export const wireMessage = (content: string, parts: ReadonlyArray<ResponsePart> | undefined) => {
  if (parts === undefined) return { role: "assistant", content, refusal: null }
  const calls = parts.flatMap((p) =>
    p.type === "tool-call"
      ? [{ id: p.id, type: "function", function: { name: p.name, arguments: typeof p.params === "string" ? p.params : JSON.stringify(p.params ?? {}) } }]
      : []
  )
  const reasoning = parts.filter((p) => p.type === "reasoning").map((p) => (p as { text: string }).text).join("")
  return {
    role: "assistant",
    content: content === "" && calls.length > 0 ? null : content,
    refusal: null,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
    ...(reasoning !== "" ? { reasoning_content: reasoning } : {})
  }
}

/** The non-text delta fields of a streamed chunk (tool-call fragments, reasoning), or `undefined`. */
export const richDelta = (c: StreamChunk): Record<string, unknown> | undefined => {
  if (c.toolCallDeltas === undefined && c.reasoningDelta === undefined) return undefined
  const delta: Record<string, unknown> = {}
  if (c.delta !== "") delta.content = c.delta
  if (c.reasoningDelta !== undefined) delta.reasoning_content = c.reasoningDelta
  if (c.toolCallDeltas !== undefined) {
    delta.tool_calls = c.toolCallDeltas.map((d) => ({
      index: d.index,
      ...(d.id !== undefined ? { id: d.id, type: "function" } : {}),
      function: { ...(d.name !== undefined ? { name: d.name } : {}), arguments: d.argumentsDelta ?? "" }
    }))
  }
  return delta
}
