/**
 * OpenAI's Responses API wire format ↔ the gateway's `LLMRequest` / `LLMResponse`
 * (notes/http-api.md "Responses API" has the mapping table). Every request field is honoured,
 * mapped, or named in `x-llm-ignored-fields` when dropping it leaves the answer unchanged (Codex
 * and the Agents SDK send several on every request: a 400 would stop them); a field that would
 * change the answer and that the gateway cannot honour is a 400 naming it. Items are read in
 * responsesItems.ts.
 */
import type {
  ChatMessage,
  LLMRequest,
  LLMResponse,
  ReasoningEffort,
  ResponseFormat,
  ResponsePart,
  ToolChoice,
  ToolDefinition,
  Usage
} from "@llm-gateway/core/domain/Domain"
import { ApiError } from "../HttpError.ts"
import type { GatewayHints } from "./chatWire.ts"
import { modelRef, pinnedModel } from "./chatWire.ts"
import { encryptedContentOf, type ItemReader, readItems } from "./responsesItems.ts"
import { type Body, Reader } from "./validate.ts"

/** What the Response object repeats of its request (OpenAI's answer echoes its parameters). */
export interface ResponseEcho {
  readonly instructions: string | null
  readonly max_output_tokens: number | null
  readonly parallel_tool_calls: boolean
  readonly previous_response_id: string | null
  readonly reasoning: { effort: string | null; summary: string | null } | null
  readonly store: boolean
  readonly temperature: number
  readonly top_p: number
  readonly text: { format: Record<string, unknown> }
  readonly tool_choice: unknown
  readonly tools: ReadonlyArray<Record<string, unknown>>
  readonly truncation: string
  readonly metadata: Record<string, string>
  readonly user?: string
  readonly service_tier?: string
}

export interface ResponsesCall {
  /** The request without the stored thread (`previous_response_id` is resolved by the route). */
  readonly request: LLMRequest
  /** `instructions` as a system message, sent first; not kept in the thread (OpenAI's rule). */
  readonly instructions: ChatMessage | undefined
  /** This request's input items as messages: the part of the thread the caller sent. */
  readonly input: ReadonlyArray<ChatMessage>
  readonly previousResponseId: string | undefined
  readonly store: boolean
  readonly stream: boolean
  /** `include: ["reasoning.encrypted_content"]`: reasoning items carry their opaque data. */
  readonly includeEncrypted: boolean
  /** Flattened namespace tools: function name → its namespace (echoed on the calls). */
  readonly namespaces: ReadonlyMap<string, string>
  /** Request fields dropped because the gateway has no meaning for them (wire names). */
  readonly ignored: ReadonlyArray<string>
  readonly echo: ResponseEcho
}

const functionTool = (r: Reader, t: Body, param: string): ToolDefinition => {
  const name = r.string(t, "name", `${param}.name`)
  if (!r.failed && !/^[A-Za-z0-9_-]{1,64}$/.test(name)) r.fail(`${param}.name`, `'${param}.name' must be 1-64 letters, digits, _ or -`)
  const description = r.optString(t, "description", `${param}.description`)
  const strict = r.optBoolean(t, "strict", `${param}.strict`)
  // a `$schema` key (Codex, zod-to-json-schema) stays in the schema: upstreams accept or ignore it
  const parameters = t.parameters === undefined || t.parameters === null
    ? { type: "object", properties: {} }
    : r.object(t.parameters, `${param}.parameters`)
  return { name, parameters, ...(description !== undefined ? { description } : {}), ...(strict !== undefined ? { strict } : {}) }
}

const readTools = (r: Reader, body: Body, ignored: Array<string>, namespaces: Map<string, string>): Array<ToolDefinition> => {
  const raw = body.tools
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) return r.fail("tools", "'tools' must be an array") ?? []
  const tools: Array<ToolDefinition> = []
  for (let i = 0; i < raw.length; i++) {
    const t = r.object(raw[i], `tools[${i}]`)
    const type = r.string(t, "type", `tools[${i}].type`)
    if (type === "function") tools.push(functionTool(r, t, `tools[${i}]`))
    else if (type === "namespace") {
      const ns = r.string(t, "name", `tools[${i}].name`)
      const inner = Array.isArray(t.tools) ? t.tools : r.fail(`tools[${i}].tools`, `'tools[${i}].tools' must be an array`) ?? []
      inner.forEach((f, j) => {
        const fn = r.object(f, `tools[${i}].tools[${j}]`)
        if (fn.type !== "function") return void (ignored.includes(`tools.${String(fn.type)}`) || ignored.push(`tools.${String(fn.type)}`))
        const tool = functionTool(r, fn, `tools[${i}].tools[${j}]`)
        namespaces.set(tool.name, ns)
        tools.push(tool)
      })
    } else if (!ignored.includes(`tools.${type}`)) {
      // hosted tools (web_search, file_search, computer_use, custom grammars…) run at OpenAI only
      ignored.push(`tools.${type}`)
    }
  }
  return tools
}

const readToolChoice = (r: Reader, body: Body, ignored: Array<string>): ToolChoice | undefined => {
  const raw = body.tool_choice
  if (raw === undefined || raw === null) return undefined
  if (raw === "auto" || raw === "none" || raw === "required") return raw
  const tc = r.object(raw, "tool_choice")
  switch (tc.type) {
    case "function":
      return { tool: r.string(tc, "name", "tool_choice.name") }
    case "allowed_tools": {
      const mode = tc.mode === "required" ? "required" : "auto"
      const list = Array.isArray(tc.tools) ? tc.tools : r.fail("tool_choice.tools", "'tool_choice.tools' must be an array") ?? []
      const oneOf = list.flatMap((t, i) => {
        const tool = r.object(t, `tool_choice.tools[${i}]`)
        return tool.type === "function" ? [r.string(tool, "name", `tool_choice.tools[${i}].name`)] : []
      })
      return { mode, oneOf }
    }
    default:
      // a hosted tool the gateway left out: the model chooses among the rest
      ignored.push("tool_choice")
      return undefined
  }
}

const readFormat = (r: Reader, body: Body, ignored: Array<string>): { format?: ResponseFormat; echo: Record<string, unknown> } => {
  const raw = body.text
  if (raw === undefined || raw === null) return { echo: { type: "text" } }
  const text = r.object(raw, "text")
  if (text.verbosity !== undefined && text.verbosity !== null) ignored.push("text.verbosity")
  if (text.format === undefined || text.format === null) return { echo: { type: "text" } }
  const f = r.object(text.format, "text.format")
  switch (f.type) {
    case "text":
      return { echo: { type: "text" } }
    case "json_object":
      return { format: { type: "json_object" }, echo: { type: "json_object" } }
    case "json_schema": {
      const name = r.string(f, "name", "text.format.name")
      const schema = r.object(f.schema, "text.format.schema")
      const strict = r.optBoolean(f, "strict", "text.format.strict")
      const description = r.optString(f, "description", "text.format.description")
      const format: ResponseFormat = {
        type: "json_schema",
        name,
        schema,
        ...(strict !== undefined ? { strict } : {}),
        ...(description !== undefined ? { description } : {})
      }
      return { format, echo: { ...format } }
    }
    default:
      r.fail("text.format.type", "'text.format.type' must be one of text, json_object, json_schema")
      return { echo: { type: "text" } }
  }
}

const EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh", "max"])

const readReasoning = (r: Reader, body: Body): { effort?: ReasoningEffort; echo: ResponseEcho["reasoning"] } => {
  const raw = body.reasoning
  if (raw === undefined || raw === null) return { echo: null }
  const o = r.object(raw, "reasoning")
  const effort = r.optString(o, "effort", "reasoning.effort")
  if (effort !== undefined && !EFFORTS.has(effort)) r.fail("reasoning.effort", "'reasoning.effort' must be one of none, minimal, low, medium, high, xhigh, max")
  // summaries are what the gateway streams of any model's reasoning: `summary` needs no mapping
  const summary = r.optString(o, "summary", "reasoning.summary") ?? r.optString(o, "generate_summary", "reasoning.generate_summary")
  const echo = { effort: effort ?? null, summary: summary ?? null }
  if (effort === undefined) return { echo }
  // every effort goes to the provider as asked (each maps it: Anthropic's budget, Ollama's think)
  return { effort: effort as ReasoningEffort, echo }
}

const readMetadata = (r: Reader, body: Body): Record<string, string> => {
  const raw = body.metadata
  if (raw === undefined || raw === null) return {}
  const m = r.object(raw, "metadata")
  for (const key in m) if (typeof m[key] !== "string") r.fail(`metadata.${key}`, `'metadata.${key}' must be a string`)
  return m as Record<string, string>
}

/** Fields read below (or mapped into `extra` for the field rule). */
const interpreted = new Set([
  "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning",
  "max_output_tokens", "temperature", "top_p", "metadata", "user", "store", "previous_response_id", "include",
  "stream", "truncation", "service_tier", "prompt_cache_key", "safety_identifier", "background"
])

/** Fields whose absence leaves the answer as it is: dropped and named. */
const neutral = new Set([
  "client_metadata", "stream_options", "max_tool_calls", "context_management", "prompt_cache_retention",
  "prompt_cache_options", "moderation", "top_logprobs"
])

const read = (raw: unknown, hints: GatewayHints): ResponsesCall | ApiError => {
  const r = new Reader()
  const body = r.object(raw)
  const ignored: Array<string> = []
  for (const key in body) {
    const v = body[key]
    if (interpreted.has(key) || v === undefined || v === null) continue
    if (key === "top_logprobs" && v !== 0) r.fail(key, "'top_logprobs' is not supported by the gateway's Responses API")
    if (neutral.has(key)) ignored.push(key)
    else r.fail(key, `'${key}' is not supported by the gateway's Responses API`)
  }
  if (r.optBoolean(body, "background") === true) r.fail("background", "'background' responses are not supported by the gateway")
  const model = r.string(body, "model")
  const instructionsText = r.optString(body, "instructions")
  const previousResponseId = r.optString(body, "previous_response_id")
  const reader: ItemReader = { r, names: new Map(), ignored }
  const input = body.input === undefined || body.input === null ? [] : readItems(body.input, "input", reader)
  if (input.length === 0 && previousResponseId === undefined) r.fail("input", "'input' is required")
  const namespaces = new Map<string, string>()
  const tools = readTools(r, body, ignored, namespaces)
  const toolChoice = readToolChoice(r, body, ignored)
  const parallelToolCalls = r.optBoolean(body, "parallel_tool_calls")
  const { format, echo: formatEcho } = readFormat(r, body, ignored)
  const { effort, echo: reasoningEcho } = readReasoning(r, body)
  const maxTokens = r.optPositiveInt(body, "max_output_tokens")
  const temperature = r.optNumber(body, "temperature", { min: 0, max: 2 })
  const topP = r.optNumber(body, "top_p", { min: 0, max: 1 })
  const metadata = readMetadata(r, body)
  const store = r.optBoolean(body, "store") ?? true
  const stream = r.optBoolean(body, "stream") ?? false
  let includeEncrypted = false
  if (body.include !== undefined && body.include !== null) {
    const include = Array.isArray(body.include) ? body.include : r.fail("include", "'include' must be an array") ?? []
    includeEncrypted = include.includes("reasoning.encrypted_content")
    if (include.some((x) => x !== "reasoning.encrypted_content")) ignored.push("include")
  }
  const truncation = r.optString(body, "truncation") ?? "disabled"
  if (truncation !== "disabled" && truncation !== "auto") r.fail("truncation", "'truncation' must be one of auto, disabled")
  if (truncation === "auto") ignored.push("truncation")
  // chat-completions fields of the same name: OpenAI-wire upstreams get them, others map or drop (field rule)
  const extra: Record<string, unknown> = {}
  for (const key of ["user", "service_tier", "prompt_cache_key", "safety_identifier"] as const) {
    const v = r.optString(body, key)
    if (v !== undefined) extra[key] = v
  }
  const strategy = r.strategy(hints.strategy, "x-llm-strategy")
  const instructions: ChatMessage | undefined = instructionsText !== undefined && instructionsText !== ""
    ? { role: "system", content: instructionsText }
    : undefined
  return r.done({
    request: {
      messages: instructions === undefined ? input : [instructions, ...input],
      model: pinnedModel(model),
      taskType: hints.task === undefined || hints.task === "" ? undefined : hints.task,
      preferences: { maxTokens, temperature, topP, strategy },
      cache: hints.noCache ? false : undefined,
      ...(format !== undefined ? { responseFormat: format } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
      ...(tools.length > 0 ? { tools } : {}),
      ...(toolChoice !== undefined && tools.length > 0 ? { toolChoice } : {}),
      ...(parallelToolCalls !== undefined ? { parallelToolCalls } : {}),
      ...(effort !== undefined ? { reasoning: { effort } } : {})
    },
    instructions,
    input,
    previousResponseId,
    store,
    stream,
    includeEncrypted,
    namespaces,
    ignored,
    echo: {
      instructions: instructionsText ?? null,
      max_output_tokens: maxTokens ?? null,
      parallel_tool_calls: parallelToolCalls ?? true,
      previous_response_id: previousResponseId ?? null,
      reasoning: reasoningEcho,
      store,
      temperature: temperature ?? 1,
      top_p: topP ?? 1,
      text: { format: formatEcho },
      tool_choice: body.tool_choice ?? "auto",
      tools: tools.map((t) => ({
        type: "function",
        name: t.name,
        description: t.description ?? null,
        parameters: t.parameters,
        strict: t.strict ?? null
      })),
      truncation,
      metadata,
      ...(typeof extra.user === "string" ? { user: extra.user } : {}),
      ...(typeof extra.service_tier === "string" ? { service_tier: extra.service_tier } : {})
    }
  })
}

/** The request reader: a `ResponsesCall`, or the 400 naming the field. */
export const readResponsesRequest = (hints: GatewayHints) => (raw: unknown): ResponsesCall | ApiError => read(raw, hints)

/** `messages` with the tool names of results that answer calls made earlier in the thread. */
export const withToolNames = (messages: ReadonlyArray<ChatMessage>, names: ReadonlyMap<string, string>): ReadonlyArray<ChatMessage> =>
  messages.map((m) =>
    m.role !== "tool" || m.content.every((p) => p.name !== "")
      ? m
      : { ...m, content: m.content.map((p) => (p.name !== "" ? p : { ...p, name: names.get(p.id) ?? "" })) }
  )

// ---- answers -------------------------------------------------------------------------------

const idPrefix = Math.random().toString(36).slice(2, 10)
let idSeq = 0
/** Ids unique across instances sharing a store: a random part per process and a counter. */
export const newId = (prefix: "resp" | "msg" | "fc" | "rs"): string =>
  `${prefix}_${idPrefix}${Date.now().toString(36)}${(++idSeq).toString(36)}`

/** OpenAI's Responses usage (every detail present: the schema requires them). */
export const responsesUsage = (u: Usage | undefined) => ({
  input_tokens: u?.promptTokens ?? 0,
  input_tokens_details: { cached_tokens: u?.cachedPromptTokens ?? 0, cache_write_tokens: u?.cacheWriteTokens ?? 0 },
  output_tokens: u?.completionTokens ?? 0,
  output_tokens_details: { reasoning_tokens: u?.reasoningTokens ?? 0 },
  total_tokens: u?.totalTokens ?? 0
})

export type OutputItem = Record<string, unknown>

export const argumentsText = (params: unknown): string => (typeof params === "string" ? params : JSON.stringify(params ?? {}))

export const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] })

/** The answer's parts as output items: reasoning, message (consecutive text joined), function_call. */
export const outputItems = (r: LLMResponse, call: ResponsesCall, incomplete: boolean): Array<OutputItem> => {
  const parts: ReadonlyArray<ResponsePart> = r.parts ?? (r.content.length > 0 ? [{ type: "text", text: r.content }] : [])
  const items: Array<OutputItem> = []
  let message: { text: string } | undefined
  const closeMessage = () => {
    if (message === undefined) return
    items.push({
      type: "message",
      id: newId("msg"),
      status: incomplete ? "incomplete" : "completed",
      role: "assistant",
      content: [outputText(message.text)]
    })
    message = undefined
  }
  for (const p of parts) {
    if (p.type === "text") {
      ;(message ??= { text: "" }).text += p.text
      continue
    }
    closeMessage()
    if (p.type === "reasoning") items.push(reasoningItem(newId("rs"), p.text, p.metadata))
    else items.push(functionCallItem(newId("fc"), p.id, p.name, argumentsText(p.params), call.namespaces))
  }
  closeMessage()
  return items
}

export const reasoningItem = (id: string, text: string, metadata: Readonly<Record<string, unknown>> | undefined): OutputItem => {
  const encrypted = encryptedContentOf(metadata)
  return {
    type: "reasoning",
    id,
    summary: text === "" ? [] : [{ type: "summary_text", text }],
    ...(encrypted !== undefined ? { encrypted_content: encrypted } : {})
  }
}

export const functionCallItem = (id: string, callId: string, name: string, args: string, namespaces: ReadonlyMap<string, string>): OutputItem => {
  const namespace = namespaces.get(name)
  return { type: "function_call", id, call_id: callId, name, arguments: args, status: "completed", ...(namespace !== undefined ? { namespace } : {}) }
}

/** What the caller sees: `encrypted_content` only when `include` asked for it (OpenAI's rule). */
export const visibleItems = (items: ReadonlyArray<OutputItem>, call: ResponsesCall): ReadonlyArray<OutputItem> =>
  call.includeEncrypted ? items : items.map((i) => {
    if (i.type !== "reasoning" || i.encrypted_content === undefined) return i
    const { encrypted_content: _, ...rest } = i
    return rest
  })

export interface ResponseState {
  readonly id: string
  readonly createdAt: number
  readonly model: string
  readonly status: "in_progress" | "completed" | "incomplete" | "failed"
  readonly output: ReadonlyArray<OutputItem>
  readonly usage?: Usage | undefined
  readonly error?: { code: string; message: string } | undefined
}

/** The `Response` object, with every field OpenAI's schema requires. */
export const responseObject = (s: ResponseState, echo: ResponseEcho): Record<string, unknown> => ({
  id: s.id,
  object: "response",
  created_at: s.createdAt,
  status: s.status,
  completed_at: s.status === "completed" || s.status === "incomplete" ? Math.floor(Date.now() / 1000) : null,
  error: s.error ?? null,
  incomplete_details: s.status === "incomplete" ? { reason: "max_output_tokens" } : null,
  model: s.model,
  output: s.output,
  // not required, and the schema has no null: absent until there is a count
  ...(s.status === "in_progress" ? {} : { usage: responsesUsage(s.usage) }),
  ...echo
})

export const responseModel = (provider: string, model: string): string => (provider === "" ? model : modelRef(provider, model))

/** The `code` of a failed Response: OpenAI's enum has a rate-limit code and a server code. */
export const failureCode = (e: ApiError): string => (e.status === 429 ? "rate_limit_exceeded" : e.status === 400 ? "invalid_prompt" : "server_error")

export const previousResponseNotFound = (id: string): ApiError =>
  new ApiError({
    status: 404,
    type: "InvalidRequest",
    code: "previous_response_not_found",
    message: `Previous response with id '${id}' not found.`,
    param: "previous_response_id"
  })

export const responseNotFound = (id: string): ApiError =>
  new ApiError({ status: 404, type: "InvalidRequest", code: "not_found", message: `No response found with id '${id}'.`, param: "response_id" })
