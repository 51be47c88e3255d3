/**
 * Between the gateway's domain and OpenAI's wire shapes: request bodies, responses, stream chunks.
 * Pure functions on the hot path — one body object per request, one `StreamChunk` per delta.
 */
import {
  type FinishReason,
  makeUsage,
  type ProviderRequest,
  type ProviderResponse,
  type ResponsePart,
  type StreamChunk,
  type ToolCallDelta,
  type Usage
} from "@llm-gateway/core/domain/Domain"
import { parseArguments } from "@llm-gateway/core/domain/StreamedParts"
import { fillTools, wireMessages } from "./messages.ts"
import { NetworkError } from "@llm-gateway/core/domain/LLMError"
import type OpenAI from "openai"
import { tokensOfChars } from "@llm-gateway/core/accounting/TokenEstimator"
import { estimateTokens } from "./errors.ts"

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming
type ChatStreamParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming
export type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion
export type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk

/**
 * `max_completion_tokens` is what OpenAI's current models accept (o-series and later reject
 * `max_tokens`); Azure's older api-versions and OpenAI-compatible servers only know `max_tokens`.
 */
export type MaxTokensField = "max_tokens" | "max_completion_tokens"

const STREAM_OPTIONS = { include_usage: true } as const

const fill = (body: ChatParams | ChatStreamParams, req: ProviderRequest, maxField: MaxTokensField) => {
  // the caller's own name for the cap when it gave one (reasoning models reject `max_tokens`)
  if (req.maxTokens !== undefined) body[req.maxTokensField ?? maxField] = req.maxTokens
  if (req.n !== undefined && req.n > 1) body.n = req.n
  if (req.temperature !== undefined) body.temperature = req.temperature
  if (req.topP !== undefined) body.top_p = req.topP
  if (req.stop !== undefined && req.stop.length > 0) body.stop = req.stop as Array<string>
  fillTools(body as unknown as Record<string, unknown>, req)
  const format = req.responseFormat
  if (format !== undefined) {
    body.response_format = format.type === "json_object"
      ? { type: "json_object" }
      : {
        type: "json_schema",
        json_schema: {
          name: format.name,
          schema: format.schema as Record<string, unknown>,
          ...(format.strict !== undefined ? { strict: format.strict } : {}),
          ...(format.description !== undefined ? { description: format.description } : {})
        }
      }
  }
}

/**
 * The field rule for OpenAI's wire: fields the gateway does not interpret (`seed`, `user`,
 * `logprobs`, vendor extensions such as vLLM's `top_k`, …) go upstream unchanged. They are laid
 * down first, so the gateway's own fields (model, messages, stream) always win.
 */
const base = (req: ProviderRequest): Record<string, unknown> => {
  const messages = wireMessages(req.messages, req.model)
  return req.extra === undefined ? { model: req.model, messages } : { ...req.extra, model: req.model, messages }
}

export const chatParams = (req: ProviderRequest, maxField: MaxTokensField): ChatParams => {
  const body = base(req) as unknown as ChatParams
  fill(body, req, maxField)
  return body
}

export const chatStreamParams = (req: ProviderRequest, maxField: MaxTokensField): ChatStreamParams => {
  // include_usage: the only way to get exact token counts for a streamed answer.
  const body = base(req) as unknown as ChatStreamParams
  body.stream = true
  body.stream_options = STREAM_OPTIONS
  fill(body, req, maxField)
  return body
}

export const finishReason = (reason: string | null | undefined): FinishReason => {
  switch (reason) {
    case "stop":
    case "length":
    case "content_filter":
    case "tool_calls":
      return reason
    case "function_call":
      return "tool_calls"
    case "eos":
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
      return "length"
    default:
      return "unknown"
  }
}

/** OpenAI's usage object, with the details that change the bill. */
interface WireUsage {
  readonly prompt_tokens?: number
  readonly completion_tokens?: number
  readonly prompt_tokens_details?: { readonly cached_tokens?: number | null } | null
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number | null } | null
}

/**
 * Exact usage when the upstream reports it; an estimate when a compatible server leaves it out.
 * OpenAI's `prompt_tokens` already includes `cached_tokens` (the gateway's convention too), and
 * `completion_tokens` includes `reasoning_tokens`: the details only say how many were.
 */
const usageOf = (usage: WireUsage | null | undefined, req: ProviderRequest, completionChars: number): Usage =>
  usage !== null && usage !== undefined && typeof usage.prompt_tokens === "number"
    ? makeUsage(usage.prompt_tokens, usage.completion_tokens ?? 0, {
      cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens,
      reasoningTokens: usage.completion_tokens_details?.reasoning_tokens
    })
    : makeUsage(estimateTokens(req), tokensOfChars(completionChars))

/** OpenAI-wire upstreams (vLLM, DeepSeek, LM Studio) put a reasoning model's thinking here. */
interface ReasoningFields {
  readonly reasoning_content?: string | null
}

/** Reasoning, text and tool calls of one answer; `undefined` when it is text only. */
const partsOf = (message: ChatCompletion["choices"][number]["message"] | undefined): ReadonlyArray<ResponsePart> | undefined => {
  if (message === undefined) return undefined
  const reasoning = (message as ReasoningFields).reasoning_content
  const calls = message.tool_calls ?? []
  if (!reasoning && calls.length === 0) return undefined
  const parts: Array<ResponsePart> = []
  if (reasoning) parts.push({ type: "reasoning", text: reasoning })
  if (message.content) parts.push({ type: "text", text: message.content })
  for (const call of calls) {
    if (call.type !== "function") continue
    parts.push({ type: "tool-call", id: call.id, name: call.function.name, params: parseArguments(call.function.arguments) })
  }
  return parts
}

export const toResponse = (completion: ChatCompletion, req: ProviderRequest, errorModel: string): ProviderResponse | NetworkError => {
  const choice = completion?.choices?.[0]
  if (choice === undefined) return new NetworkError({ model: errorModel, message: "upstream answered without choices" })
  const content = choice.message?.content ?? ""
  const parts = partsOf(choice.message)
  const response: ProviderResponse = {
    // The configured id, not the upstream's dated variant: pricing and routing key on it.
    model: req.model,
    content,
    usage: usageOf(completion.usage, req, content.length),
    finishReason: finishReason(choice.finish_reason),
    ...(parts !== undefined ? { parts } : {})
  }
  if (completion.choices.length < 2) return response
  // n > 1: every choice, in index order (the usage above already covers them all)
  const choices = [...completion.choices]
    .sort((a, b) => a.index - b.index)
    .map((c) => {
      const parts = partsOf(c.message)
      return { content: c.message?.content ?? "", finishReason: finishReason(c.finish_reason), ...(parts !== undefined ? { parts } : {}) }
    })
  return { ...response, content: choices[0].content, finishReason: choices[0].finishReason, choices }
}

/**
 * Upstream chunks → gateway chunks, for both transports: one `{ delta }` per non-empty content
 * delta, then one final chunk with usage and finishReason. A stream that ends before any
 * finish_reason was cut short: that is an error, never a silent success.
 */
export class ChunkMapper {
  private finish: FinishReason | undefined = undefined
  private usage: ChatChunk["usage"] = undefined
  private chars = 0
  private readonly req: ProviderRequest
  private readonly errorModel: string

  constructor(req: ProviderRequest, errorModel: string) {
    this.req = req
    this.errorModel = errorModel
  }

  /** The chunk to emit for one upstream chunk, if it carries content. */
  map(chunk: ChatChunk): StreamChunk | undefined {
    if (chunk.usage) this.usage = chunk.usage
    const choice = chunk.choices?.[0]
    if (choice === undefined) return undefined
    if (choice.finish_reason) this.finish = finishReason(choice.finish_reason)
    const delta = choice.delta?.content
    const reasoning = (choice.delta as ReasoningFields | undefined)?.reasoning_content
    const calls = choice.delta?.tool_calls
    if (!reasoning && (calls === undefined || calls.length === 0)) {
      if (!delta) return undefined
      this.chars += delta.length
      return { delta }
    }
    // Fragments go out as they arrive: a tool call's arguments are never buffered whole.
    const out: { delta: string; reasoningDelta?: string; toolCallDeltas?: Array<ToolCallDelta> } = { delta: delta ?? "" }
    this.chars += out.delta.length
    if (reasoning) {
      out.reasoningDelta = reasoning
      this.chars += reasoning.length
    }
    if (calls !== undefined && calls.length > 0) {
      out.toolCallDeltas = calls.map((c) => {
        const args = c.function?.arguments
        this.chars += args?.length ?? 0
        return {
          index: c.index,
          ...(c.id ? { id: c.id } : {}),
          ...(c.function?.name ? { name: c.function.name } : {}),
          ...(args ? { argumentsDelta: args } : {})
        }
      })
    }
    return out
  }

  /** The final chunk, or the error for a stream that never finished. */
  end(): StreamChunk | NetworkError {
    if (this.finish === undefined) {
      return new NetworkError({ model: this.errorModel, message: "stream ended before the upstream finished the answer" })
    }
    return { delta: "", usage: usageOf(this.usage, this.req, this.chars), finishReason: this.finish }
  }
}

/** The SDK's chunk iterator through `ChunkMapper`. */
export async function* toStreamChunks(
  source: AsyncIterable<ChatChunk>,
  req: ProviderRequest,
  errorModel: string
): AsyncGenerator<StreamChunk> {
  const mapper = new ChunkMapper(req, errorModel)
  for await (const chunk of source) {
    const out = mapper.map(chunk)
    if (out !== undefined) yield out
  }
  const last = mapper.end()
  if ("_tag" in last) throw last
  yield last
}
