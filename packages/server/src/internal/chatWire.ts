/**
 * OpenAI's chat-completions wire format ↔ the gateway's `LLMRequest` / `LLMResponse` /
 * `StreamChunk`. The fields the gateway interprets are read here (strictly: a malformed one is a
 * 400 naming the field, never silently dropped; parts and tools in chatParts.ts); every other field
 * is carried unchanged in `LLMRequest.extra`, and the router applies the field rule once the
 * provider is known (core RequestFields; the table is in notes/http-api.md).
 */
import type { ChatMessage, FinishReason, LLMRequest, LLMResponse, ResponseFormat, StreamChunk, Usage } from "@llm-gateway/core/domain/Domain"
import type { ApiError } from "../HttpError.ts"
import { readReasoningEffort, readRichMessage, readToolChoice, readTools, richDelta, wireMessage } from "./chatParts.ts"
import * as V from "./validate.ts"

/** Gateway headers of a model request (`x-llm-task`, `x-llm-strategy`, `x-llm-cache`). */
export interface GatewayHints {
  readonly task: string | undefined
  readonly strategy: string | undefined
  readonly noCache: boolean
}

/** The gateway's request headers, read the same way by every model API (chat, Messages, Responses). */
export const hintsOf = (headers: Readonly<Record<string, string | undefined>>): GatewayHints => {
  const cache = headers["x-llm-cache"]
  return { task: headers["x-llm-task"], strategy: headers["x-llm-strategy"], noCache: cache !== undefined && /no-cache|no-store|bypass/i.test(cache) }
}

export interface ChatCall {
  readonly request: LLMRequest
  readonly stream: boolean
  readonly includeUsage: boolean
}

// A Map, not an object literal: a role named "constructor" must not find Object's prototype.
const roles = new Map<string, "system" | "user" | "assistant" | "tool">([
  ["system", "system"],
  // OpenAI's newer name for the system role (o1 and later).
  ["developer", "system"],
  ["user", "user"],
  ["assistant", "assistant"],
  ["tool", "tool"]
])

const readContent = (r: V.Reader, raw: unknown, param: string, role: string): string => {
  if (typeof raw === "string") return raw
  if (raw === null || raw === undefined) {
    if (role === "assistant") return ""
    return r.fail(param, `'${param}' is required`) ?? ""
  }
  if (!Array.isArray(raw)) return r.fail(param, `'${param}' must be a string or an array of content parts`) ?? ""
  // Parts stay apart: until messages carry parts, a newline between two keeps "Say hello" and
  // "politely" from running together as "Say hellopolitely".
  let text = ""
  for (let i = 0; i < raw.length; i++) {
    const part = r.object(raw[i], `${param}[${i}]`)
    if (part.type !== "text") {
      r.fail(`${param}[${i}].type`, `content part type ${JSON.stringify(part.type)} is not supported (only "text")`)
    }
    const t = r.string(part, "text", `${param}[${i}].text`)
    text = i === 0 ? t : `${text}\n${t}`
  }
  return text
}

const readMessages = (r: V.Reader, body: V.Body): Array<ChatMessage> | undefined => {
  const raw = body.messages
  if (raw === undefined || raw === null) return r.fail("messages", "'messages' is required")
  if (!Array.isArray(raw)) return r.fail("messages", "'messages' must be an array")
  if (raw.length === 0) return r.fail("messages", "'messages' must contain at least one message")
  const out = new Array<ChatMessage>(raw.length)
  const names = new Map<string, string>()
  for (let i = 0; i < raw.length; i++) {
    const param = `messages[${i}]`
    const m = r.object(raw[i], param)
    const roleName = r.string(m, "role", `${param}.role`)
    const role = roles.get(roleName)
    if (role === undefined) {
      r.fail(
        `${param}.role`,
        roleName === "function"
          ? `'${param}.role' "function" (deprecated): send tool messages (role "tool") instead`
          : `'${param}.role' must be one of system, developer, user, assistant, tool, got "${roleName}"`
      )
      continue
    }
    // Text stays on the string path; parts, tool calls and tool messages are read as parts.
    out[i] = role !== "tool" && typeof m.content === "string" && (m.tool_calls === undefined || m.tool_calls === null)
      ? { role, content: m.content }
      : role === "assistant" && (m.tool_calls === undefined || m.tool_calls === null)
      ? { role: "assistant", content: readContent(r, m.content, `${param}.content`, roleName) }
      : readRichMessage(r, m, role, param, names)
  }
  return out
}

const readResponseFormat = (r: V.Reader, body: V.Body): ResponseFormat | undefined => {
  const raw = body.response_format
  if (raw === undefined || raw === null) return undefined
  const rf = r.object(raw, "response_format")
  switch (rf.type) {
    case "text":
      return undefined
    case "json_object":
      return { type: "json_object" }
    case "json_schema": {
      const js = r.object(rf.json_schema, "response_format.json_schema")
      const name = r.string(js, "name", "response_format.json_schema.name")
      const schema = js.schema === undefined ? {} : r.object(js.schema, "response_format.json_schema.schema")
      const strict = r.optBoolean(js, "strict", "response_format.json_schema.strict")
      const description = r.optString(js, "description", "response_format.json_schema.description")
      return {
        type: "json_schema",
        name,
        schema,
        ...(strict !== undefined ? { strict } : {}),
        ...(description !== undefined ? { description } : {})
      }
    }
    default:
      return r.fail("response_format.type", "'response_format.type' must be one of text, json_object, json_schema")
  }
}

const unsupported = (r: V.Reader, body: V.Body, key: string, what: string): void => {
  const v = body[key]
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return
  r.fail(key, `${what} are not supported by this gateway`)
}

/** Fields this reader interprets; every other one goes to `LLMRequest.extra` as sent. */
const interpreted = new Set([
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "stream",
  "stream_options",
  "response_format",
  "n",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning_effort",
  "functions"
])

/** The fields the gateway does not interpret, unchanged (`null` means "not given", as OpenAI reads it). */
const readExtra = (body: V.Body): Record<string, unknown> | undefined => {
  let extra: Record<string, unknown> | undefined
  for (const key in body) {
    if (interpreted.has(key)) continue
    const v = body[key]
    if (v === null || v === undefined) continue
    ;(extra ??= {})[key] = v
  }
  return extra
}

/** `auto` (or nothing) lets the router pick by task; anything else pins a model. */
export const pinnedModel = (model: string): string | undefined => (model === "auto" || model === "" ? undefined : model)

/** OpenAI's own bounds on `n`, `temperature` and `top_p`. */
const N_RANGE: V.NumberRange = { min: 1, max: 128, int: true }
const TEMPERATURE_RANGE: V.NumberRange = { min: 0, max: 2 }
const UNIT_RANGE: V.NumberRange = { min: 0, max: 1 }

export const readChatRequest = (raw: unknown, hints: GatewayHints): ChatCall | ApiError => {
  const r = new V.Reader()
  const body = r.object(raw)
  if (r.failed) return r.error()
  const model = r.string(body, "model")
  const messages = readMessages(r, body)
  unsupported(r, body, "functions", "functions (deprecated; send tools)")
  const tools = readTools(r, body)
  const toolChoice = readToolChoice(r, body)
  const parallelToolCalls = r.optBoolean(body, "parallel_tool_calls")
  const effort = readReasoningEffort(r, body)
  const n = r.optNumber(body, "n", N_RANGE)
  const completionCap = r.optPositiveInt(body, "max_completion_tokens")
  const maxTokens = completionCap ?? r.optPositiveInt(body, "max_tokens")
  const temperature = r.optNumber(body, "temperature", TEMPERATURE_RANGE)
  const topP = r.optNumber(body, "top_p", UNIT_RANGE)
  const stop = r.optStop(body)
  const stream = r.optBoolean(body, "stream") ?? false
  let includeUsage = false
  if (body.stream_options !== undefined && body.stream_options !== null) {
    const so = r.object(body.stream_options, "stream_options")
    includeUsage = r.optBoolean(so, "include_usage", "stream_options.include_usage") ?? false
  }
  const responseFormat = readResponseFormat(r, body)
  const strategy = r.strategy(hints.strategy, "x-llm-strategy")
  if (r.failed || messages === undefined) return r.error()
  const preferences = maxTokens === undefined && temperature === undefined && topP === undefined &&
      stop === undefined && strategy === undefined
    ? undefined
    : { maxTokens, temperature, topP, stop, strategy }
  return {
    request: {
      messages,
      model: pinnedModel(model),
      taskType: hints.task === undefined || hints.task === "" ? undefined : hints.task,
      preferences,
      cache: hints.noCache ? false : undefined,
      responseFormat,
      n: n !== undefined && n > 1 ? n : undefined,
      extra: readExtra(body),
      maxTokensField: maxTokens === undefined ? undefined : completionCap !== undefined ? "max_completion_tokens" : "max_tokens",
      ...(tools !== undefined ? { tools } : {}),
      ...(toolChoice !== undefined ? { toolChoice } : {}),
      ...(parallelToolCalls !== undefined ? { parallelToolCalls } : {}),
      ...(effort !== undefined ? { reasoning: { effort } } : {})
    },
    stream,
    includeUsage
  }
}

// ---- responses -----------------------------------------------------------------------------

// Ids only need to be unique per process and cheap: a random prefix and a counter.
const idPrefix = Math.random().toString(36).slice(2, 10)
let idSeq = 0
export const completionId = (): string => `chatcmpl-${idPrefix}${(++idSeq).toString(36)}`

/** OpenAI's finish reasons; the gateway's `error`/`unknown` read as a normal stop. */
export const openAIFinish = (f: FinishReason | undefined): string =>
  f === "length" || f === "content_filter" || f === "tool_calls" ? f : "stop"

/**
 * OpenAI's usage object. `prompt_tokens` includes cached and cache-write tokens (OpenAI's
 * convention, the gateway's too); the details appear when the upstream reported any:
 * `prompt_tokens_details.cached_tokens` (OpenAI's field), `cache_write_tokens` beside it (no
 * OpenAI equivalent: Anthropic's cache creation), `completion_tokens_details.reasoning_tokens`.
 */
export const openAIUsage = (u: Usage) => {
  const out: {
    prompt_tokens: number
    completion_tokens: number
    total_tokens: number
    prompt_tokens_details?: { cached_tokens: number; cache_write_tokens?: number }
    completion_tokens_details?: { reasoning_tokens: number }
  } = { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens }
  if (u.cachedPromptTokens !== undefined || u.cacheWriteTokens !== undefined) {
    out.prompt_tokens_details = u.cacheWriteTokens === undefined
      ? { cached_tokens: u.cachedPromptTokens ?? 0 }
      : { cached_tokens: u.cachedPromptTokens ?? 0, cache_write_tokens: u.cacheWriteTokens }
  }
  if (u.reasoningTokens !== undefined) out.completion_tokens_details = { reasoning_tokens: u.reasoningTokens }
  return out
}

/** The `model` a client sees: the ref it can send back to pin the same model. */
export const modelRef = (provider: string, model: string): string => `${provider}/${model}`

/**
 * No `system_fingerprint` in the answer or its chunks: OpenAI's schema types it as a string (a
 * `null` breaks strict clients) and the gateway has no backend fingerprint of its own to give.
 */
export const chatCompletionJson = (r: LLMResponse, id: string, created: number, includeCost = false): string =>
  JSON.stringify({
    id,
    object: "chat.completion",
    created,
    model: modelRef(r.provider, r.model),
    choices: r.choices === undefined
      ? [{
        index: 0,
        message: wireMessage(r.content, r.parts),
        logprobs: null,
        finish_reason: openAIFinish(r.finishReason)
      }]
      : r.choices.map((c, index) => ({
        index,
        message: wireMessage(c.content, c.parts),
        logprobs: null,
        finish_reason: openAIFinish(c.finishReason)
      })),
    usage: includeCost ? withCost(openAIUsage(r.usage), r.costUsd) : openAIUsage(r.usage)
  })

/**
 * `usage.cost_usd`, only for a caller that asked (`x-llm-route: include`, as the console does):
 * the gateway's cost of the request, like OpenRouter's `usage.cost`. Off by default, so the
 * usage object stays exactly OpenAI's.
 */
const withCost = <U extends object>(usage: U, costUsd: number | undefined): U & { cost_usd?: number } =>
  costUsd === undefined ? usage : { ...usage, cost_usd: costUsd }

/**
 * Writes the SSE frames of one streamed completion, keeping what OpenAI's framing needs. With
 * `n` > 1 every choice keeps its `index`: its first frame carries the role, and `end` closes
 * each choice with its own finish reason.
 */
export class ChunkEncoder {
  private first = true
  private usage: Usage | undefined
  private finish: FinishReason | undefined
  private readonly id: string
  private readonly created: number
  private readonly model: string
  private readonly includeUsage: boolean
  private readonly n: number
  private readonly includeCost: boolean
  private cost: number | undefined
  /** n > 1 only: which choices have sent their first frame, and how each finished. */
  private readonly started: Array<boolean> = []
  private readonly finishes: Array<FinishReason | undefined> = []
  constructor(id: string, created: number, model: string, includeUsage: boolean, n = 1, includeCost = false) {
    this.id = id
    this.created = created
    this.model = model
    this.includeUsage = includeUsage
    this.n = n
    this.includeCost = includeCost
  }

  /**
   * The frame's constant head, serialised once: `JSON.stringify` of the whole chunk object per
   * delta re-encoded the same id, created and model for every frame (byte-for-byte the same output).
   */
  private head: string | undefined

  private frame(delta: object, finishReason: string | null, index = 0): string {
    return this.framed(JSON.stringify(delta), finishReason, index)
  }

  /** A frame around an already serialised delta (`{"content":…}` needs no object). */
  private framed(delta: string, finishReason: string | null, index = 0): string {
    this.head ??= `data: ${JSON.stringify({ id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model }).slice(0, -1)},"choices":[{"index":`
    return `${this.head}${index},"delta":${delta},"logprobs":null,"finish_reason":${finishReason === null ? "null" : JSON.stringify(finishReason)}}]}\n\n`
  }

  /** Frames for one gateway chunk ("" when it carries nothing to send yet). */
  chunk(c: StreamChunk): string {
    if (c.costUsd !== undefined) this.cost = c.costUsd
    if (this.n > 1) return this.choiceChunk(c)
    if (c.usage !== undefined) this.usage = c.usage
    if (c.finishReason !== undefined) this.finish = c.finishReason
    const rich = richDelta(c)
    if (this.first) {
      this.first = false
      return this.frame(rich === undefined ? { role: "assistant", content: c.delta } : { role: "assistant", ...rich }, null)
    }
    if (rich !== undefined) return this.frame(rich, null)
    return c.delta.length === 0 ? "" : this.framed(`{"content":${JSON.stringify(c.delta)}}`, null)
  }

  private choiceChunk(c: StreamChunk): string {
    const index = c.choiceIndex ?? 0
    if (c.usage !== undefined) this.usage = c.usage
    if (c.finishReason !== undefined) this.finishes[index] = c.finishReason
    if (this.started[index] !== true) {
      this.started[index] = true
      this.first = false
      return this.frame({ role: "assistant", content: c.delta }, null, index)
    }
    return c.delta.length === 0 ? "" : this.frame({ content: c.delta }, null, index)
  }

  /** Frames for a batch of gateway chunks, as one string (one socket write per batch). */
  chunks(batch: ReadonlyArray<StreamChunk>): string {
    if (batch.length === 1) return this.chunk(batch[0])
    let out = ""
    for (let i = 0; i < batch.length; i++) out += this.chunk(batch[i])
    return out
  }

  /** The closing frames: the finish reason, the usage chunk when asked for, `[DONE]`. */
  end(): string {
    let out = ""
    if (this.n > 1) {
      for (let i = 0; i < this.n; i++) {
        if (this.started[i] !== true) out += this.frame({ role: "assistant", content: "" }, null, i)
        out += this.frame({}, openAIFinish(this.finishes[i]), i)
      }
    } else {
      out = this.first ? this.frame({ role: "assistant", content: "" }, null) : ""
      out += this.frame({}, openAIFinish(this.finish))
    }
    this.first = false
    if (this.includeUsage && this.usage !== undefined) {
      out += `data: ${
        JSON.stringify({
          id: this.id,
          object: "chat.completion.chunk",
          created: this.created,
          model: this.model,
          choices: [],
          usage: this.includeCost ? withCost(openAIUsage(this.usage), this.cost) : openAIUsage(this.usage)
        })
      }\n\n`
    }
    return out + "data: [DONE]\n\n"
  }
}
