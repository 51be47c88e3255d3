/**
 * Gateway messages made of parts → Anthropic Messages API turns (notes/rich-messages.md §3
 * "Anthropic Messages"), without I/O.
 *
 * What the API requires and this file absorbs:
 * - system turns are the top-level `system`, text blocks when a part asks for `cache_control`;
 * - turns alternate user/assistant: consecutive same-role turns merge (string contents joined
 *   by a blank line, as before parts existed);
 * - tool results are `tool_result` blocks of a *user* turn right after the `tool_use` turn, all
 *   of them in one message and first in it: `tool` messages become that user turn, and a user
 *   message that follows joins it after the results;
 * - thinking blocks go back byte for byte and first in their assistant turn. A reasoning part
 *   without Anthropic's signature or redacted payload came from another provider family: it is
 *   dropped, never turned into text (notes/rich-messages.md §4);
 * - no audio input: an audio part is an InvalidRequest naming the part.
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { ChatMessage, FilePart, MessagePart, ToolResultPart } from "@llm-gateway/core/domain/Domain"

type Block = Anthropic.Messages.ContentBlockParam
type CacheControl = Anthropic.Messages.CacheControlEphemeral

export interface Turn {
  readonly role: "user" | "assistant"
  content: string | Array<Block>
}

/** A part Anthropic cannot take: `param` names it (`messages[2].content[1]`). */
export interface PartRefused {
  readonly param: string
  readonly message: string
}

export interface Converted {
  readonly system: string | Array<Anthropic.Messages.TextBlockParam> | undefined
  readonly turns: Array<Turn>
}

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v)

/** The family's slot in a part's `options` (or a response part's `metadata`). */
export const anthropicOptions = (options: unknown): Rec | undefined =>
  isRec(options) && isRec(options.anthropic) ? options.anthropic : undefined

/** `options.anthropic.cacheControl` → the block's `cache_control` (prompt caching breakpoint). */
const cacheControlOf = (options: unknown): CacheControl | undefined => {
  const raw = anthropicOptions(options)?.cacheControl
  if (!isRec(raw)) return undefined
  const out: CacheControl = { type: "ephemeral" }
  if (raw.ttl === "5m" || raw.ttl === "1h") out.ttl = raw.ttl
  return out
}

const withCache = <B extends Block>(block: B, options: unknown): B => {
  const cache = cacheControlOf(options)
  return cache === undefined ? block : { ...block, cache_control: cache }
}

/** A `data:<type>;base64,<data>` URL split, for callers that send images that way. */
const dataUrl = (href: string): { mediaType: string; data: string } | undefined => {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(href)
  return m === null ? undefined : { mediaType: m[1]!, data: m[2]! }
}

const fileBlock = (part: FilePart, at: string, model: string): Block | PartRefused => {
  let mediaType = part.mediaType.toLowerCase()
  let base64: string | undefined
  let url: string | undefined
  if (typeof part.data === "string") base64 = part.data
  else {
    const inline = dataUrl(part.data.href)
    if (inline !== undefined) {
      base64 = inline.data
      if (mediaType === "" || mediaType === "application/octet-stream") mediaType = inline.mediaType.toLowerCase()
    } else url = part.data.href
  }
  if (mediaType.startsWith("audio/")) {
    return { param: at, message: `${at}: audio input is not supported by ${model}` }
  }
  if (mediaType.startsWith("image/")) {
    if (!IMAGE_TYPES.has(mediaType)) {
      return { param: at, message: `${at}: image type ${mediaType} is not supported by ${model} (jpeg, png, gif or webp)` }
    }
    const source: Anthropic.Messages.ImageBlockParam["source"] = url !== undefined
      ? { type: "url", url }
      : { type: "base64", media_type: mediaType as "image/png", data: base64! }
    return withCache({ type: "image", source }, part.options)
  }
  if (mediaType === "application/pdf") {
    const source: Anthropic.Messages.DocumentBlockParam["source"] = url !== undefined
      ? { type: "url", url }
      : { type: "base64", media_type: "application/pdf", data: base64! }
    return withCache({ type: "document", source, ...(part.fileName ? { title: part.fileName } : {}) }, part.options)
  }
  if (mediaType === "text/plain" && base64 !== undefined) {
    const data = Buffer.from(base64, "base64").toString("utf8")
    return withCache({ type: "document", source: { type: "text", media_type: "text/plain", data }, ...(part.fileName ? { title: part.fileName } : {}) }, part.options)
  }
  return { param: at, message: `${at}: file type ${mediaType} is not supported by ${model} (images, PDF or plain text)` }
}

/** A tool result's content: text as is, anything else as JSON. */
const resultText = (result: unknown): string => (typeof result === "string" ? result : JSON.stringify(result) ?? "")

const toolResultBlock = (part: ToolResultPart): Block =>
  withCache({
    type: "tool_result",
    tool_use_id: part.id,
    content: resultText(part.result),
    ...(part.isFailure ? { is_error: true } : {})
  }, part.options)

/** A reasoning part as a thinking block, if it is Anthropic's own; `undefined` drops it. */
const thinkingBlock = (options: unknown, text: string): Block | undefined => {
  const own = anthropicOptions(options)
  if (typeof own?.redactedData === "string") return { type: "redacted_thinking", data: own.redactedData }
  if (typeof own?.signature === "string") return { type: "thinking", thinking: text, signature: own.signature }
  return undefined
}

const partBlock = (part: MessagePart, role: "user" | "assistant", at: string, model: string): Block | PartRefused | undefined => {
  switch (part.type) {
    case "text":
      return withCache({ type: "text", text: part.text }, part.options)
    case "file":
      if (role === "assistant") return { param: at, message: `${at}: file parts in an assistant message are not supported by ${model}` }
      return fileBlock(part, at, model)
    case "reasoning":
      return thinkingBlock(part.options, part.text)
    case "tool-call":
      return withCache({ type: "tool_use", id: part.id, name: part.name, input: isRec(part.params) ? part.params : {} }, part.options)
    case "tool-result":
      return toolResultBlock(part)
  }
}

const isRefused = (x: unknown): x is PartRefused => isRec(x) && typeof x.param === "string" && typeof x.message === "string"

const asBlocks = (content: string | Array<Block>): Array<Block> =>
  typeof content === "string" ? (content.length > 0 ? [{ type: "text", text: content }] : []) : content

/** Adds a turn, merging into the previous one of the same role (tool results stay first). */
const push = (turns: Array<Turn>, role: "user" | "assistant", content: string | Array<Block>) => {
  const last = turns.at(-1)
  if (last === undefined || last.role !== role) {
    turns.push({ role, content })
    return
  }
  if (typeof last.content === "string" && typeof content === "string") {
    last.content = `${last.content}\n\n${content}`
    return
  }
  const merged = [...asBlocks(last.content), ...asBlocks(content)]
  // tool_result blocks must open the user message; thinking blocks the assistant's
  const first = (b: Block) => b.type === "tool_result" || b.type === "thinking" || b.type === "redacted_thinking"
  last.content = [...merged.filter(first), ...merged.filter((b) => !first(b))]
}

/** The system text: one string, or text blocks when a system message asks for a cache breakpoint. */
const systemOf = (system: ReadonlyArray<{ text: string; options: unknown }>): Converted["system"] => {
  if (system.length === 0) return undefined
  if (system.every((s) => cacheControlOf(s.options) === undefined)) return system.map((s) => s.text).join("\n\n")
  return system.map((s) => withCache({ type: "text" as const, text: s.text }, s.options))
}

/**
 * Converts the conversation; a part Anthropic cannot take is refused (first one found).
 * `model` is the `provider/model` ref used in the refusal's message.
 */
export const toTurns = (messages: ReadonlyArray<ChatMessage>, model: string): Converted | PartRefused => {
  const system: Array<{ text: string; options: unknown }> = []
  const turns: Array<Turn> = []
  for (const [i, m] of messages.entries()) {
    if (m.role === "system") {
      system.push({ text: m.content, options: m.options })
      continue
    }
    const role = m.role === "assistant" ? "assistant" : "user"
    if (typeof m.content === "string") {
      const cache = cacheControlOf(m.options)
      push(turns, role, cache === undefined ? m.content : [{ type: "text", text: m.content, cache_control: cache }])
      continue
    }
    const blocks: Array<Block> = []
    for (const [j, part] of (m.content as ReadonlyArray<MessagePart>).entries()) {
      const block = partBlock(part, role, `messages[${i}].content[${j}]`, model)
      if (block === undefined) continue
      if (isRefused(block)) return block
      blocks.push(block)
    }
    // an assistant turn of nothing but another family's reasoning has nothing left to say
    if (blocks.length > 0) push(turns, role, blocks)
  }
  return { system: systemOf(system), turns }
}

export const isPartRefused = isRefused
