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

const textOf = (r: V.Reader, raw: unknown, param: string): string => {
  if (typeof raw === "string") return raw
  if (!Array.isArray(raw)) return r.fail(param, `'${param}' must be a string or an array of text parts`) ?? ""
  let text = ""
  for (let i = 0; i < raw.length; i++) {
    const part = r.object(raw[i], `${param}[${i}]`)
    if (part.type !== "text") r.fail(`${param}[${i}].type`, `'${param}[${i}].type' must be "text" here`)
    const t = r.string(part, "text", `${param}[${i}].text`)
    text = i === 0 ? t : `${text}\n${t}`
  }
  return text
}

/** One user content part (`undefined` when it is not one). */
const userPart = (r: V.Reader, raw: unknown, param: string): UserPart | undefined => {
  const part = r.object(raw, param)
  switch (part.type) {
    case "text":
      return { type: "text", text: r.string(part, "text", `${param}.text`) }
    case "image_url": {
      const img = r.object(part.image_url, `${param}.image_url`)
      const url = r.string(img, "url", `${param}.image_url.url`)
      const detail = r.optString(img, "detail", `${param}.image_url.detail`)
      const options = detail !== undefined ? { options: { openai: { imageDetail: detail } } } : {}
      const m = DATA_URL.exec(url)
      if (m !== null) return { type: "file", mediaType: m[1], data: m[2], ...options }
      if (!/^https?:\/\//.test(url)) return r.fail(`${param}.image_url.url`, `'${param}.image_url.url' must be an http(s) URL or a base64 data URL`)
      return { type: "file", mediaType: imageType(url), data: { _tag: "URL", href: url }, ...options }
    }
    case "input_audio": {
      const audio = r.object(part.input_audio, `${param}.input_audio`)
      const format = r.string(audio, "format", `${param}.input_audio.format`)
      if (format !== "wav" && format !== "mp3") r.fail(`${param}.input_audio.format`, `'${param}.input_audio.format' must be one of wav, mp3`)
      return { type: "file", mediaType: format === "wav" ? "audio/wav" : "audio/mpeg", data: r.string(audio, "data", `${param}.input_audio.data`) }
    }
    case "file": {
      const file = r.object(part.file, `${param}.file`)
      const fileName = r.optString(file, "filename", `${param}.file.filename`)
      const fileId = r.optString(file, "file_id", `${param}.file.file_id`)
      const name = fileName !== undefined ? { fileName } : {}
      if (fileId !== undefined) return { type: "file", mediaType: "application/octet-stream", data: "", ...name, options: { openai: { fileId } } }
      const m = DATA_URL.exec(r.string(file, "file_data", `${param}.file.file_data`))
      if (m === null) return r.fail(`${param}.file.file_data`, `'${param}.file.file_data' must be a base64 data URL`)
      return { type: "file", mediaType: m[1], data: m[2], ...name }
    }
    default:
      return r.fail(`${param}.type`, `'${param}.type' must be one of text, image_url, input_audio, file`)
  }
}

/**
 * One wire message as the gateway's message; `names` maps the tool-call ids seen so far to their
 * tool names (a tool message carries only the id; Anthropic and Ollama want the name). Read
 * through `r`: what it answers after a violation is never used.
 */
export const readRichMessage = (
  r: V.Reader,
  m: V.Body,
  role: "system" | "user" | "assistant" | "tool",
  param: string,
  names: Map<string, string>
): ChatMessage => {
  if (role === "system") return { role, content: textOf(r, m.content, `${param}.content`) }
  // Valid fields are read in place; the reader (and the field's name, a string built per field)
  // comes in only for one that is not: this path runs for every turn of an agent's conversation.
  if (role === "tool") {
    const rawId = m.tool_call_id
    const id = typeof rawId === "string" ? rawId : r.string(m, "tool_call_id", `${param}.tool_call_id`)
    const result = typeof m.content === "string" ? m.content : textOf(r, m.content, `${param}.content`)
    return { role, content: [{ type: "tool-result", id, name: names.get(id) ?? "", isFailure: false, result }] }
  }
  if (role === "user") {
    if (typeof m.content === "string") return { role, content: m.content }
    if (!Array.isArray(m.content)) {
      r.fail(`${param}.content`, `'${param}.content' must be a string or an array of content parts`)
      return { role, content: "" }
    }
    const parts: Array<UserPart> = []
    let textOnly = true
    for (let i = 0; i < m.content.length; i++) {
      const part = userPart(r, m.content[i], `${param}.content[${i}]`)
      if (part === undefined) continue
      if (part.type !== "text") textOnly = false
      parts.push(part)
    }
    // text parts alone stay one string (a newline between parts, as before parts existed)
    return textOnly
      ? { role, content: parts.map((p) => (p as { text: string }).text).join("\n") }
      : { role, content: parts }
  }
  const content = m.content
  const text = content === undefined || content === null ? "" : typeof content === "string" ? content : textOf(r, content, `${param}.content`)
  const calls = m.tool_calls
  if (calls === undefined || calls === null || (Array.isArray(calls) && calls.length === 0)) return { role, content: text }
  if (!Array.isArray(calls)) {
    r.fail(`${param}.tool_calls`, `'${param}.tool_calls' must be an array`)
    return { role, content: text }
  }
  const parts: Array<AssistantPart> = text === "" ? [] : [{ type: "text", text }]
  for (let j = 0; j < calls.length; j++) {
    const rawCall: unknown = calls[j]
    const call = V.isObject(rawCall) ? rawCall : r.object(rawCall, `${param}.tool_calls[${j}]`)
    const rawId = call.id
    const id = typeof rawId === "string" ? rawId : r.string(call, "id", `${param}.tool_calls[${j}].id`)
    const rawFn = call.function
    const fn = V.isObject(rawFn) ? rawFn : r.object(rawFn, `${param}.tool_calls[${j}].function`)
    const rawName = fn.name
    const name = typeof rawName === "string" ? rawName : r.string(fn, "name", `${param}.tool_calls[${j}].function.name`)
    const rawArgs = fn.arguments
    const args = typeof rawArgs === "string" ? rawArgs : r.string(fn, "arguments", `${param}.tool_calls[${j}].function.arguments`)
    names.set(id, name)
    parts.push({ type: "tool-call", id, name, params: parseArguments(args) })
  }
  return { role, content: parts }
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/

export const readTools = (r: V.Reader, body: V.Body): ReadonlyArray<ToolDefinition> | undefined => {
  const raw = body.tools
  if (raw === undefined || raw === null) return undefined
  if (!Array.isArray(raw)) return r.fail("tools", "'tools' must be an array")
  const tools = new Array<ToolDefinition>(raw.length)
  // as for messages: fields read in place, the reader and the field's name only for a bad one
  for (let i = 0; i < raw.length; i++) {
    const rawTool: unknown = raw[i]
    const tool = V.isObject(rawTool) ? rawTool : r.object(rawTool, `tools[${i}]`)
    if (tool.type !== "function") r.fail(`tools[${i}].type`, `'tools[${i}].type' must be "function"`)
    const rawFn = tool.function
    const fn = V.isObject(rawFn) ? rawFn : r.object(rawFn, `tools[${i}].function`)
    const rawName = fn.name
    const name = typeof rawName === "string" ? rawName : r.string(fn, "name", `tools[${i}].function.name`)
    if (!TOOL_NAME.test(name)) r.fail(`tools[${i}].function.name`, `'tools[${i}].function.name' must be 1-64 letters, digits, _ or -`)
    const rawDescription = fn.description
    const description = typeof rawDescription === "string" || rawDescription === undefined || rawDescription === null
      ? rawDescription ?? undefined
      : r.optString(fn, "description", `tools[${i}].function.description`)
    const rawStrict = fn.strict
    const strict = typeof rawStrict === "boolean" || rawStrict === undefined || rawStrict === null
      ? rawStrict ?? undefined
      : r.optBoolean(fn, "strict", `tools[${i}].function.strict`)
    const rawParameters = fn.parameters
    const parameters = rawParameters === undefined || rawParameters === null
      ? { type: "object", properties: {} }
      : V.isObject(rawParameters)
      ? rawParameters
      : r.object(rawParameters, `tools[${i}].function.parameters`)
    const definition: { -readonly [K in keyof ToolDefinition]: ToolDefinition[K] } = { name, parameters }
    if (description !== undefined) definition.description = description
    if (strict !== undefined) definition.strict = strict
    tools[i] = definition
  }
  return tools
}

export const readToolChoice = (r: V.Reader, body: V.Body): ToolChoice | undefined => {
  const raw = body.tool_choice
  if (raw === undefined || raw === null) return undefined
  if (raw === "auto" || raw === "none" || raw === "required") return raw
  const o = r.object(raw, "tool_choice")
  if (o.type === "function") return { tool: r.string(r.object(o.function, "tool_choice.function"), "name", "tool_choice.function.name") }
  if (o.type === "allowed_tools") return readAllowedTools(r, r.object(o.allowed_tools, "tool_choice.allowed_tools"))
  return r.fail(
    "tool_choice",
    `'tool_choice' must be one of auto, none, required, { type: "function", function: { name } } or { type: "allowed_tools", allowed_tools: { mode, tools } }`
  )
}

/** OpenAI's `allowed_tools` choice: the model picks among these tools only (`required`: it must call one). */
const readAllowedTools = (r: V.Reader, a: V.Body): ToolChoice | undefined => {
  const param = "tool_choice.allowed_tools"
  if (a.mode !== "auto" && a.mode !== "required") return r.fail(`${param}.mode`, `'${param}.mode' must be auto or required`)
  if (!Array.isArray(a.tools)) return r.fail(`${param}.tools`, `'${param}.tools' must be an array`)
  const oneOf: Array<string> = []
  for (let i = 0; i < a.tools.length; i++) {
    const tool = r.object(a.tools[i], `${param}.tools[${i}]`)
    if (tool.type !== "function") return r.fail(`${param}.tools[${i}].type`, `'${param}.tools[${i}].type' must be function`)
    const name = r.string(r.object(tool.function, `${param}.tools[${i}].function`), "name", `${param}.tools[${i}].function.name`)
    if (name !== undefined) oneOf.push(name)
  }
  return { mode: a.mode, oneOf }
}

// OpenAI's published values (its schema's ReasoningEffort), every one carried to the provider
const EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh", "max"])
export const readReasoningEffort = (r: V.Reader, body: V.Body): ReasoningEffort | undefined => {
  const effort = r.optString(body, "reasoning_effort")
  if (effort !== undefined && !EFFORTS.has(effort)) {
    return r.fail("reasoning_effort", "'reasoning_effort' must be one of none, minimal, low, medium, high, xhigh, max")
  }
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
