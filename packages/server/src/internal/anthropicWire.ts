/**
 * Anthropic's Messages wire format ↔ the gateway's `LLMRequest` / `LLMResponse` / `StreamChunk`
 * (notes/http-api.md "Anthropic Messages API" has the mapping table). Fields with no gateway
 * meaning are never a 400: Claude Code sends several (`context_management`, `output_config`,
 * tools' `defer_loading`, adaptive thinking); they are dropped and named in
 * `x-llm-ignored-fields`.
 */
import type {
  AssistantPart,
  ChatMessage,
  FinishReason,
  LLMRequest,
  LLMResponse,
  ReasoningOptions,
  ResponsePart,
  ToolChoice,
  ToolDefinition,
  ToolResultPart,
  UserPart,
  Usage
} from "@llm-gateway/core/domain/Domain"
import type { ApiError } from "../HttpError.ts"
import type { GatewayHints } from "./chatWire.ts"
import { modelRef, pinnedModel } from "./chatWire.ts"
import * as V from "./validate.ts"

export interface MessagesCall {
  readonly request: LLMRequest
  readonly stream: boolean
  /** Request fields dropped because the gateway has no meaning for them (wire names). */
  readonly ignored: ReadonlyArray<string>
}

type Body = V.Body

const withOptions = <A extends object>(part: A, block: Body): A => {
  const cc = block.cache_control
  return V.isObject(cc) ? { ...part, options: { anthropic: { cacheControl: cc } } } : part
}

const textOfContent = (r: V.Reader, raw: unknown, param: string): string => {
  if (typeof raw === "string") return raw
  if (raw === undefined || raw === null) return ""
  if (!Array.isArray(raw)) return r.fail(param, `'${param}' must be a string or an array of blocks`) ?? ""
  let text = ""
  for (let i = 0; i < raw.length; i++) {
    const block = r.object(raw[i], `${param}[${i}]`)
    const t = block.type === "text" ? r.string(block, "text", `${param}[${i}].text`) : JSON.stringify(block)
    text = i === 0 ? t : `${text}\n${t}`
  }
  return text
}

/** An image or document block's `source` as a file part (`undefined` when it is not one). */
const filePart = (r: V.Reader, block: Body, param: string): UserPart | undefined => {
  const source = r.object(block.source, `${param}.source`)
  const title = r.optString(block, "title", `${param}.title`)
  const name = title !== undefined ? { fileName: title } : {}
  const pdf = block.type === "document"
  switch (source.type) {
    case "base64":
      return withOptions({
        type: "file" as const,
        mediaType: r.string(source, "media_type", `${param}.source.media_type`),
        data: r.string(source, "data", `${param}.source.data`),
        ...name
      }, block)
    case "url": {
      const href = r.string(source, "url", `${param}.source.url`)
      return withOptions({ type: "file" as const, mediaType: pdf ? "application/pdf" : "image/*", data: { _tag: "URL" as const, href }, ...name }, block)
    }
    case "text":
      return withOptions({
        type: "file" as const,
        mediaType: "text/plain",
        data: Buffer.from(r.string(source, "data", `${param}.source.data`), "utf8").toString("base64"),
        ...name
      }, block)
    default:
      return r.fail(`${param}.source.type`, `'${param}.source.type' must be one of base64, url, text`)
  }
}

/** One message's blocks: tool results (a tool message before the rest) and the other parts. */
const readBlocks = (
  r: V.Reader,
  raw: unknown,
  role: "user" | "assistant",
  param: string,
  names: Map<string, string>
): { results: Array<ToolResultPart>; parts: Array<AssistantPart> } => {
  const results: Array<ToolResultPart> = []
  const parts: Array<AssistantPart> = []
  if (typeof raw === "string") {
    parts.push({ type: "text", text: raw })
    return { results, parts }
  }
  if (!Array.isArray(raw)) {
    r.fail(param, `'${param}' must be a string or an array of content blocks`)
    return { results, parts }
  }
  for (let i = 0; i < raw.length; i++) {
    const at = `${param}[${i}]`
    const block = r.object(raw[i], at)
    switch (block.type) {
      case "text":
        parts.push(withOptions({ type: "text", text: r.string(block, "text", `${at}.text`) }, block))
        break
      case "image":
      case "document": {
        const file = filePart(r, block, at)
        if (file !== undefined) parts.push(file)
        break
      }
      case "tool_use": {
        const id = r.string(block, "id", `${at}.id`)
        const name = r.string(block, "name", `${at}.name`)
        names.set(id, name)
        parts.push(withOptions({ type: "tool-call", id, name, params: block.input ?? {} }, block))
        break
      }
      case "tool_result": {
        const id = r.string(block, "tool_use_id", `${at}.tool_use_id`)
        results.push(withOptions({
          type: "tool-result",
          id,
          name: names.get(id) ?? "",
          isFailure: block.is_error === true,
          result: textOfContent(r, block.content, `${at}.content`)
        }, block))
        break
      }
      case "thinking":
        parts.push({
          type: "reasoning",
          text: r.string(block, "thinking", `${at}.thinking`),
          options: { anthropic: { signature: r.string(block, "signature", `${at}.signature`) } }
        })
        break
      case "redacted_thinking":
        parts.push({ type: "reasoning", text: "", options: { anthropic: { redactedData: r.string(block, "data", `${at}.data`) } } })
        break
      default:
        r.fail(`${at}.type`, `'${at}.type' ${JSON.stringify(block.type)} is not supported (text, image, document, tool_use, tool_result, thinking)`)
    }
  }
  if (role === "user" && parts.some((p) => p.type !== "text" && p.type !== "file")) {
    r.fail(param, `'${param}' of a user message may hold text, image, document and tool_result blocks only`)
  }
  return { results, parts }
}

const readMessages = (r: V.Reader, body: Body): Array<ChatMessage> | undefined => {
  const out: Array<ChatMessage> = []
  const system = body.system
  if (system !== undefined && system !== null) out.push({ role: "system", content: textOfContent(r, system, "system") })
  const raw = body.messages
  if (!Array.isArray(raw)) return r.fail("messages", "'messages' must be an array")
  if (raw.length === 0) return r.fail("messages", "'messages' must contain at least one message")
  const names = new Map<string, string>()
  for (let i = 0; i < raw.length; i++) {
    const param = `messages[${i}]`
    const m = r.object(raw[i], param)
    const role = r.string(m, "role", `${param}.role`)
    if (role === "system") {
      // Claude Code and some SDK users put system turns inside messages; the gateway keeps them
      out.push({ role: "system", content: textOfContent(r, m.content, `${param}.content`) })
      continue
    }
    if (role !== "user" && role !== "assistant") {
      r.fail(`${param}.role`, `'${param}.role' must be one of user, assistant, got "${role}"`)
      continue
    }
    if (typeof m.content === "string") {
      out.push({ role, content: m.content })
      continue
    }
    const { results, parts } = readBlocks(r, m.content, role, `${param}.content`, names)
    if (results.length > 0) out.push({ role: "tool", content: results })
    if (parts.length === 0 && results.length > 0) continue
    out.push(role === "user" ? { role: "user", content: parts as Array<UserPart> } : { role: "assistant", content: parts })
  }
  return out
}

const readTools = (r: V.Reader, body: Body, ignored: Array<string>): Array<ToolDefinition> | undefined => {
  const raw = body.tools
  if (raw === undefined || raw === null) return undefined
  if (!Array.isArray(raw)) return r.fail("tools", "'tools' must be an array")
  const tools: Array<ToolDefinition> = []
  for (let i = 0; i < raw.length; i++) {
    const t = r.object(raw[i], `tools[${i}]`)
    // server tools (web_search_…, bash_…) run at Anthropic only: no gateway meaning
    if (t.type !== undefined && t.type !== null && t.type !== "custom") {
      ignored.push(`tools[${i}]`)
      continue
    }
    if (t.defer_loading !== undefined && !ignored.includes("tools.defer_loading")) ignored.push("tools.defer_loading")
    const description = r.optString(t, "description", `tools[${i}].description`)
    tools.push({
      name: r.string(t, "name", `tools[${i}].name`),
      parameters: t.input_schema === undefined ? { type: "object" } : r.object(t.input_schema, `tools[${i}].input_schema`),
      ...(description !== undefined ? { description } : {})
    })
  }
  return tools.length > 0 ? tools : undefined
}

const readToolChoice = (r: V.Reader, body: Body): { choice?: ToolChoice; parallel?: boolean } => {
  const raw = body.tool_choice
  if (raw === undefined || raw === null) return {}
  const tc = r.object(raw, "tool_choice")
  const parallel = tc.disable_parallel_tool_use === true ? { parallel: false } : {}
  switch (tc.type) {
    case "auto":
      return { choice: "auto", ...parallel }
    case "any":
      return { choice: "required", ...parallel }
    case "none":
      return { choice: "none" }
    case "tool":
      return { choice: { tool: r.string(tc, "name", "tool_choice.name") }, ...parallel }
    default:
      r.fail("tool_choice.type", "'tool_choice.type' must be one of auto, any, tool, none")
      return {}
  }
}

const readThinking = (r: V.Reader, body: Body, ignored: Array<string>): ReasoningOptions | undefined => {
  const raw = body.thinking
  if (raw === undefined || raw === null) return undefined
  const t = r.object(raw, "thinking")
  if (t.type === "enabled") return { budgetTokens: r.optPositiveInt(t, "budget_tokens", "thinking.budget_tokens") ?? 1024 }
  // adaptive leaves the budget to the model: the gateway has no such setting
  if (t.type !== "disabled") ignored.push("thinking")
  return undefined
}

/** Top-level fields this reader interprets; any other one is ignored and named. */
const interpreted = new Set([
  "model", "messages", "system", "max_tokens", "stop_sequences", "temperature", "top_p", "stream",
  "tools", "tool_choice", "thinking", "metadata"
])

/** Anthropic's bounds on `temperature` and `top_p`. */
const UNIT_RANGE: V.NumberRange = { min: 0, max: 1 }

export const readMessagesRequest = (raw: unknown, hints: GatewayHints): MessagesCall | ApiError => {
  const r = new V.Reader()
  const body = r.object(raw)
  if (r.failed) return r.error()
  const ignored: Array<string> = []
  const model = r.string(body, "model")
  const maxTokens = r.optPositiveInt(body, "max_tokens")
  if (maxTokens === undefined) r.fail("max_tokens", "'max_tokens' is required")
  const messages = readMessages(r, body)
  const tools = readTools(r, body, ignored)
  const { choice, parallel } = readToolChoice(r, body)
  const reasoning = readThinking(r, body, ignored)
  const temperature = r.optNumber(body, "temperature", UNIT_RANGE)
  const topP = r.optNumber(body, "top_p", UNIT_RANGE)
  const stop = body.stop_sequences === undefined || body.stop_sequences === null ? undefined : r.optStop(body, "stop_sequences")
  const stream = r.optBoolean(body, "stream") ?? false
  let user: string | undefined
  if (body.metadata !== undefined && body.metadata !== null) {
    user = r.optString(r.object(body.metadata, "metadata"), "user_id", "metadata.user_id")
  }
  for (const key in body) if (!interpreted.has(key) && body[key] !== undefined && body[key] !== null) ignored.push(key)
  const strategy = r.strategy(hints.strategy, "x-llm-strategy")
  if (r.failed || messages === undefined) return r.error()
  return {
    request: {
      messages,
      model: pinnedModel(model),
      taskType: hints.task === undefined || hints.task === "" ? undefined : hints.task,
      preferences: { maxTokens, temperature, topP, stop, strategy },
      cache: hints.noCache ? false : undefined,
      // `user` is the OpenAI-side name; the Anthropic client maps it back to metadata.user_id
      extra: user !== undefined ? { user } : undefined,
      ...(tools !== undefined ? { tools } : {}),
      ...(choice !== undefined ? { toolChoice: choice } : {}),
      ...(parallel !== undefined ? { parallelToolCalls: parallel } : {}),
      ...(reasoning !== undefined ? { reasoning } : {})
    },
    stream,
    ignored
  }
}

// ---- responses -----------------------------------------------------------------------------

const idPrefix = Math.random().toString(36).slice(2, 10)
let idSeq = 0
export const messageId = (): string => `msg_${idPrefix}${(++idSeq).toString(36)}`

/** `stop_sequence` when the upstream said which of the caller's sequences ended the answer. */
export const stopReason = (f: FinishReason | undefined, stopSequence?: string | undefined): string =>
  f === "length" ? "max_tokens" : f === "tool_calls" ? "tool_use" : stopSequence !== undefined ? "stop_sequence" : "end_turn"

/** Anthropic's usage: `input_tokens` excludes cache reads and writes (the gateway's count includes them). */
export const anthropicUsage = (u: Usage | undefined) => {
  const cached = u?.cachedPromptTokens ?? 0
  const written = u?.cacheWriteTokens ?? 0
  return {
    input_tokens: Math.max(0, (u?.promptTokens ?? 0) - cached - written),
    output_tokens: u?.completionTokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: written
  }
}

const signatureOf = (metadata: unknown): Record<string, unknown> | undefined => {
  const m = metadata as { anthropic?: Record<string, unknown> } | undefined
  return m?.anthropic
}

const contentBlock = (p: ResponsePart): object => {
  switch (p.type) {
    case "text":
      return { type: "text", text: p.text }
    case "reasoning": {
      const own = signatureOf(p.metadata)
      return typeof own?.redactedData === "string"
        ? { type: "redacted_thinking", data: own.redactedData }
        : { type: "thinking", thinking: p.text, signature: typeof own?.signature === "string" ? own.signature : "" }
    }
    case "tool-call":
      return { type: "tool_use", id: p.id, name: p.name, input: p.params ?? {} }
  }
}

export const messageJson = (r: LLMResponse, id: string): string =>
  JSON.stringify({
    id,
    type: "message",
    role: "assistant",
    model: modelRef(r.provider, r.model),
    content: r.parts !== undefined ? r.parts.map(contentBlock) : r.content.length > 0 ? [{ type: "text", text: r.content }] : [],
    stop_reason: stopReason(r.finishReason, r.stopSequence),
    stop_sequence: r.stopSequence ?? null,
    usage: anthropicUsage(r.usage)
  })

/** Anthropic's error types by the gateway's status (529 is Anthropic's own overloaded status). */
export const anthropicErrorType = (status: number): string => {
  switch (status) {
    case 400:
    case 405:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 503:
    case 529:
      return "overloaded_error"
    default:
      return "api_error"
  }
}

export const anthropicErrorBody = (e: ApiError): string =>
  JSON.stringify({ type: "error", error: { type: anthropicErrorType(e.status), message: e.message } })

const headerSafe = (s: string): string => s.replace(/[^\x20-\x7e]/g, "")

/** The gateway's `x-llm-*` headers; ignored fields are the reader's and the provider's together. */
export const gatewayHeaders = (
  provider: string,
  model: string,
  cached: boolean,
  ignored: ReadonlyArray<string>
): Record<string, string> => {
  const headers: Record<string, string> = {
    "x-llm-provider": headerSafe(provider),
    "x-llm-model": headerSafe(model),
    "x-llm-cache": cached ? "hit" : "miss"
  }
  if (ignored.length > 0) headers["x-llm-ignored-fields"] = headerSafe([...new Set(ignored)].join(","))
  return headers
}

