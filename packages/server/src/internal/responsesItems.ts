/**
 * The Responses API's items ↔ the gateway's messages (notes/http-api.md "Responses API"). One
 * reader serves the request's `input` and the answer's own `output` (kept as the stored thread):
 * message items (`input_text` / `input_image` / `input_file`, `output_text` in assistant turns),
 * `function_call`, `function_call_output` and `reasoning` items. Consecutive assistant-side items
 * (reasoning, text, calls) become one assistant message, consecutive outputs one tool message.
 */
import type { AssistantPart, ChatMessage, ToolResultPart, UserPart } from "@llm-gateway/core/domain/Domain"
import { parseArguments } from "@llm-gateway/core/domain/StreamedParts"
import { isObject, type Reader } from "./validate.ts"

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s

/**
 * Reasoning's provider data (an Anthropic signature, OpenAI's encrypted content) travels in a
 * reasoning item's `encrypted_content`; what the gateway wrote there is marked so it is read back
 * as the part's options, byte for byte, on any instance.
 */
const OPAQUE = "llmgw1."

export const encryptedContentOf = (metadata: Readonly<Record<string, unknown>> | undefined): string | undefined => {
  if (metadata === undefined || Object.keys(metadata).length === 0) return undefined
  const own = (metadata as { openai?: { encryptedContent?: unknown } }).openai
  if (typeof own?.encryptedContent === "string" && Object.keys(metadata).length === 1) return own.encryptedContent
  return OPAQUE + Buffer.from(JSON.stringify(metadata), "utf8").toString("base64url")
}

const optionsOfEncrypted = (encrypted: string): Record<string, unknown> => {
  if (encrypted.startsWith(OPAQUE)) {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(encrypted.slice(OPAQUE.length), "base64url").toString("utf8"))
      if (isObject(decoded)) return decoded
    } catch {
      // not ours after all: kept as OpenAI's own opaque value
    }
  }
  return { openai: { encryptedContent: encrypted } }
}

const extOf = (name: string | undefined): string | undefined => /\.([a-z0-9]+)$/i.exec(name ?? "")?.[1]?.toLowerCase()

const mediaTypeOf = (fileName: string | undefined): string => {
  const ext = extOf(fileName)
  return ext === "pdf" ? "application/pdf" : ext === "png" ? "image/png" : ext === "jpg" || ext === "jpeg" ? "image/jpeg" :
    ext === "txt" ? "text/plain" : "application/octet-stream"
}

const EMPTY_TEXT: UserPart = { type: "text", text: "" }

const userPart = (r: Reader, raw: unknown, param: string): UserPart => {
  const part = r.object(raw, param)
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: r.string(part, "text", `${param}.text`) }
    case "refusal":
      return { type: "text", text: r.string(part, "refusal", `${param}.refusal`) }
    case "input_image": {
      const detail = r.optString(part, "detail", `${param}.detail`)
      const options = detail !== undefined && detail !== "auto" ? { options: { openai: { imageDetail: detail } } } : {}
      const fileId = r.optString(part, "file_id", `${param}.file_id`)
      if (fileId !== undefined) return { type: "file", mediaType: "image/*", data: "", options: { openai: { fileId, ...(detail !== undefined ? { imageDetail: detail } : {}) } } }
      const url = r.string(part, "image_url", `${param}.image_url`)
      const m = DATA_URL.exec(url)
      if (m !== null) return { type: "file", mediaType: m[1], data: m[2], ...options }
      if (!/^https?:\/\//.test(url)) r.fail(`${param}.image_url`, `'${param}.image_url' must be an http(s) URL or a base64 data URL`)
      return { type: "file", mediaType: "image/*", data: { _tag: "URL", href: url }, ...options }
    }
    case "input_file": {
      const fileName = r.optString(part, "filename", `${param}.filename`)
      const name = fileName !== undefined ? { fileName } : {}
      const fileId = r.optString(part, "file_id", `${param}.file_id`)
      if (fileId !== undefined) return { type: "file", mediaType: "application/octet-stream", data: "", ...name, options: { openai: { fileId } } }
      const url = r.optString(part, "file_url", `${param}.file_url`)
      if (url !== undefined) return { type: "file", mediaType: mediaTypeOf(fileName ?? url), data: { _tag: "URL", href: url }, ...name }
      const data = r.string(part, "file_data", `${param}.file_data`)
      const m = DATA_URL.exec(data)
      return m !== null ? { type: "file", mediaType: m[1], data: m[2], ...name } : { type: "file", mediaType: mediaTypeOf(fileName), data, ...name }
    }
    default:
      r.fail(`${param}.type`, `'${param}.type' must be one of input_text, input_image, input_file`)
      return EMPTY_TEXT
  }
}

const textOfParts = (r: Reader, raw: unknown, param: string): string => {
  if (typeof raw === "string") return raw
  if (!Array.isArray(raw)) return r.fail(param, `'${param}' must be a string or an array of content parts`) ?? ""
  return raw.map((p, i) => {
    const part = userPart(r, p, `${param}[${i}]`)
    return part.type === "text" ? part.text : r.fail(`${param}[${i}].type`, `'${param}[${i}].type' must be a text part here`) ?? ""
  }).join("\n")
}

/** Item types of OpenAI's hosted tools: history other providers cannot replay, dropped and named. */
const isHostedItem = (type: string): boolean =>
  /_call(_output)?$/.test(type) && type !== "function_call" && type !== "function_call_output" || type.startsWith("mcp_") ||
  type === "compaction" || type === "compaction_summary"

export interface ItemReader {
  /** Records the first violation (validate.ts). */
  readonly r: Reader
  /** Tool names by call id, seeded from history (a function_call_output carries only the id). */
  readonly names: Map<string, string>
  readonly ignored: Array<string>
}

/** `input` (a string or items) as messages, appended to `out`. */
export const readItems = (raw: unknown, param: string, reader: ItemReader, out: Array<ChatMessage> = []): Array<ChatMessage> => {
  if (typeof raw === "string") {
    out.push({ role: "user", content: raw })
    return out
  }
  const r = reader.r
  if (!Array.isArray(raw)) {
    r.fail(param, `'${param}' must be a string or an array of items`)
    return out
  }
  let assistant: Array<AssistantPart> | undefined
  let results: Array<ToolResultPart> | undefined
  const flush = () => {
    if (assistant !== undefined && assistant.length > 0) out.push({ role: "assistant", content: assistant })
    if (results !== undefined) out.push({ role: "tool", content: results })
    assistant = undefined
    results = undefined
  }
  const assistantParts = () => {
    if (results !== undefined) flush()
    return (assistant ??= [])
  }
  for (let i = 0; i < raw.length && !r.failed; i++) {
    const at = `${param}[${i}]`
    const item = r.object(raw[i], at)
    const type = item.type ?? "message"
    if (type === "message") {
      const role = r.string(item, "role", `${at}.role`)
      if (role === "assistant") {
        const text = textOfParts(r, item.content, `${at}.content`)
        const parts = assistantParts()
        if (text !== "") parts.push({ type: "text", text })
        continue
      }
      flush()
      if (role === "system" || role === "developer") {
        out.push({ role: "system", content: textOfParts(r, item.content, `${at}.content`) })
      } else if (role === "user") {
        if (typeof item.content === "string") out.push({ role: "user", content: item.content })
        else if (!Array.isArray(item.content)) r.fail(`${at}.content`, `'${at}.content' must be a string or an array of content parts`)
        else {
          const parts = item.content.map((p, j) => userPart(r, p, `${at}.content[${j}]`))
          out.push({ role: "user", content: parts.every((p) => p.type === "text") ? parts.map((p) => (p as { text: string }).text).join("\n") : parts })
        }
      } else {
        r.fail(`${at}.role`, `'${at}.role' must be one of user, assistant, system, developer, got "${role}"`)
      }
      continue
    }
    switch (type) {
      case "function_call": {
        const id = r.string(item, "call_id", `${at}.call_id`)
        const name = r.string(item, "name", `${at}.name`)
        reader.names.set(id, name)
        assistantParts().push({ type: "tool-call", id, name, params: parseArguments(r.string(item, "arguments", `${at}.arguments`)) })
        break
      }
      case "function_call_output": {
        const id = r.string(item, "call_id", `${at}.call_id`)
        const output = item.output
        const result = typeof output === "string" ? output : textOfParts(r, output, `${at}.output`)
        if (assistant !== undefined) flush()
        ;(results ??= []).push({ type: "tool-result", id, name: reader.names.get(id) ?? r.optString(item, "name", `${at}.name`) ?? "", isFailure: false, result })
        break
      }
      case "reasoning": {
        const summary = Array.isArray(item.summary) ? item.summary : []
        const text = summary.map((s, j) => r.string(r.object(s, `${at}.summary[${j}]`), "text", `${at}.summary[${j}].text`)).join("\n\n")
        const encrypted = r.optString(item, "encrypted_content", `${at}.encrypted_content`)
        assistantParts().push(encrypted === undefined ? { type: "reasoning", text } : { type: "reasoning", text, options: optionsOfEncrypted(encrypted) })
        break
      }
      default:
        if (typeof type === "string" && isHostedItem(type)) {
          if (!reader.ignored.includes(`input.${type}`)) reader.ignored.push(`input.${type}`)
          break
        }
        r.fail(`${at}.type`, `'${at}.type' ${JSON.stringify(type)} is not supported (message, function_call, function_call_output, reasoning)`)
    }
  }
  flush()
  return out
}

/** The tool names of every call in `messages` (a follow-up's outputs name calls made earlier). */
export const toolNames = (messages: ReadonlyArray<ChatMessage>): Map<string, string> => {
  const names = new Map<string, string>()
  for (const m of messages) {
    if (m.role !== "assistant" || typeof m.content === "string") continue
    for (const p of m.content) if (p.type === "tool-call") names.set(p.id, p.name)
  }
  return names
}
