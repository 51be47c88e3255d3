/**
 * Translation between effect/ai's shapes and the gateway's, for `LanguageModel.ts`: a
 * `Prompt` and `ProviderOptions` become an `LLMRequest`; an `LLMResponse` becomes
 * `Response.PartEncoded`s; `StreamChunk`s become `Response.StreamPartEncoded`s; an `LLMError`
 * becomes an `AiError` (the gateway already retried and fell back, so `isRetryable` only says
 * whether the caller may try again later).
 */
import type {
  ChatMessage,
  FinishReason,
  LLMRequest,
  LLMResponse,
  MessagePart,
  StreamChunk,
  ToolDefinition,
  Usage
} from "@llm-gateway/core/domain/Domain"
import { attemptsOf, type LLMError } from "@llm-gateway/core/domain/LLMError"
import { Duration, Schema } from "effect"
import { AiError, type LanguageModel, Prompt, type Response, Tool } from "effect/ai"

type Json = Response.ProviderMetadata[string]

const encodePrompt = Schema.encodeSync(Prompt.Prompt)

/** `{}` options are dropped: the cache key must not depend on an empty object. */
const withOptions = <T extends object>(value: T, options: Record<string, unknown> | undefined): T =>
  options !== undefined && Object.keys(options).length > 0 ? { ...value, options } : value

const fileData = (data: Prompt.FilePartEncoded["data"]): string | { readonly _tag: "URL"; readonly href: string } => {
  if (typeof data === "string") return data
  if (data instanceof URL) return { _tag: "URL", href: data.href }
  if (data instanceof Uint8Array) return Buffer.from(data).toString("base64")
  return data._tag === "URL" ? { _tag: "URL", href: data.href } : data.base64
}

type PromptPart = Exclude<Prompt.AssistantMessageEncoded["content"], string>[number] | Prompt.ToolMessageEncoded["content"][number]

/** One prompt part as the gateway's part; approval parts have no counterpart upstream and are left out. */
const toPart = (part: PromptPart): MessagePart | undefined => {
  switch (part.type) {
    case "text":
      return withOptions({ type: "text" as const, text: part.text }, part.options)
    case "reasoning":
      return withOptions({ type: "reasoning" as const, text: part.text }, part.options)
    case "file":
      return withOptions({
        type: "file" as const,
        mediaType: part.mediaType,
        ...(part.fileName !== undefined ? { fileName: part.fileName } : {}),
        data: fileData(part.data)
      }, part.options)
    case "tool-call":
      return withOptions({ type: "tool-call" as const, id: part.id, name: part.name, params: part.params }, part.options)
    case "tool-result":
      return withOptions(
        { type: "tool-result" as const, id: part.id, name: part.name, isFailure: part.isFailure, result: part.result },
        part.options
      )
    default:
      return undefined
  }
}

const partsOf = <P extends MessagePart>(content: ReadonlyArray<PromptPart>): Array<P> =>
  content.flatMap((part) => {
    const mapped = toPart(part)
    return mapped === undefined ? [] : [mapped as P]
  })

/** The prompt as the gateway's messages (effect/ai's encoded shape, which `ChatMessage` follows). */
export const promptMessages = (prompt: Prompt.Prompt): Array<ChatMessage> =>
  encodePrompt(prompt).content.flatMap((message): Array<ChatMessage> => {
    switch (message.role) {
      case "system":
        return [withOptions({ role: "system", content: message.content }, message.options)]
      case "user":
        return [withOptions({
          role: "user",
          content: typeof message.content === "string" ? message.content : partsOf(message.content)
        }, message.options) as ChatMessage]
      case "assistant":
        return [withOptions({
          role: "assistant",
          content: typeof message.content === "string" ? message.content : partsOf(message.content)
        }, message.options) as ChatMessage]
      case "tool": {
        const results = partsOf(message.content)
        return results.length === 0 ? [] : [withOptions({ role: "tool", content: results }, message.options) as ChatMessage]
      }
    }
  })

/** The toolkit's tools as JSON-Schema definitions (provider-defined tools run at one provider only). */
export const toolDefinitions = (tools: ReadonlyArray<Tool.Any>): Array<ToolDefinition> =>
  tools.filter((tool) => !Tool.isProviderDefined(tool)).map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    parameters: Tool.getJsonSchema(tool) as Record<string, unknown>,
    ...(Tool.getStrictMode(tool) !== undefined ? { strict: Tool.getStrictMode(tool) } : {})
  }))

/** The request fields effect/ai's options decide: messages, tools, tool choice, JSON output. */
export const requestFields = (options: LanguageModel.ProviderOptions): Pick<LLMRequest, "messages" | "tools" | "toolChoice" | "responseFormat"> => {
  const tools = toolDefinitions(options.tools)
  const format = options.responseFormat
  return {
    messages: promptMessages(options.prompt),
    ...(tools.length > 0 ? { tools, toolChoice: options.toolChoice } : {}),
    ...(format.type === "json"
      ? {
        responseFormat: {
          type: "json_schema",
          name: format.objectName,
          schema: Tool.getJsonSchemaFromSchema(format.schema) as Record<string, unknown>
        }
      }
      : {})
  }
}

const finishReasons: Record<FinishReason, Response.FinishReason> = {
  stop: "stop",
  length: "length",
  content_filter: "content-filter",
  tool_calls: "tool-calls",
  error: "error",
  unknown: "unknown"
}

/** The gateway's usage in effect/ai's terms (promptTokens already includes cached and cache-write tokens). */
export const aiUsage = (usage: Usage): Response.FinishPartEncoded["usage"] => {
  const cacheRead = usage.cachedPromptTokens ?? 0
  const cacheWrite = usage.cacheWriteTokens ?? 0
  const reasoning = usage.reasoningTokens ?? 0
  return {
    inputTokens: {
      total: usage.promptTokens,
      uncached: usage.promptTokens - cacheRead - cacheWrite,
      cacheRead: usage.cachedPromptTokens,
      cacheWrite: usage.cacheWriteTokens
    },
    outputTokens: { total: usage.completionTokens, text: usage.completionTokens - reasoning, reasoning: usage.reasoningTokens }
  }
}

/** What the gateway adds to effect/ai's finish part, under `metadata.gateway`: route, cost and cache. */
export interface GatewayMetadata {
  readonly provider: string
  readonly model: string
  readonly costUsd: number
  readonly cached: boolean
  readonly latencyMs?: number
  readonly attempts: ReadonlyArray<{ readonly model: string; readonly outcome: string; readonly ms: number }>
}

const gatewayMetadata = (meta: GatewayMetadata): Response.ProviderMetadata => ({ gateway: meta as unknown as Json })

/** A whole answer as effect/ai's parts: metadata, then text / reasoning / tool calls in order, then finish. */
export const responseParts = (response: LLMResponse): Array<Response.PartEncoded> => {
  const parts: Array<Response.PartEncoded> = [{ type: "response-metadata", modelId: `${response.provider}/${response.model}` }]
  if (response.parts !== undefined) {
    for (const part of response.parts) {
      if (part.type === "text") parts.push({ type: "text", text: part.text })
      else if (part.type === "reasoning") parts.push({ type: "reasoning", text: part.text, ...(part.metadata ? { metadata: part.metadata as Response.ProviderMetadata } : {}) })
      else parts.push({ type: "tool-call", id: part.id, name: part.name, params: part.params })
    }
  } else if (response.content.length > 0) {
    parts.push({ type: "text", text: response.content })
  }
  parts.push({
    type: "finish",
    reason: finishReasons[response.finishReason],
    usage: aiUsage(response.usage),
    metadata: gatewayMetadata({
      provider: response.provider,
      model: response.model,
      costUsd: response.costUsd,
      cached: response.cached,
      latencyMs: response.latencyMs,
      attempts: response.attempts
    })
  })
  return parts
}

const parseParams = (json: string): unknown => {
  if (json.trim() === "") return {}
  try {
    return JSON.parse(json)
  } catch {
    // effect/ai decodes the params against the tool's schema and reports the mismatch
    return json
  }
}

/**
 * A stateful translator of the gateway's chunks into effect/ai's stream parts: text and reasoning
 * blocks opened and closed, each tool call's argument fragments forwarded as they arrive
 * (`tool-params-delta`) and the whole call emitted once the stream finishes.
 */
export const makeStreamTranslator = () => {
  let started = false
  let text: string | undefined
  let reasoning: string | undefined
  let blocks = 0
  let provider = ""
  let model = ""
  let attempts: GatewayMetadata["attempts"] = []
  const calls = new Map<number, { id: string; name: string; args: string }>()
  let finished = false

  const closeText = (out: Array<Response.StreamPartEncoded>) => {
    if (text !== undefined) out.push({ type: "text-end", id: text })
    text = undefined
  }
  const closeReasoning = (out: Array<Response.StreamPartEncoded>, metadata?: Record<string, unknown>) => {
    if (reasoning !== undefined) out.push({ type: "reasoning-end", id: reasoning, ...(metadata ? { metadata: metadata as Response.ProviderMetadata } : {}) })
    reasoning = undefined
  }

  const next = (chunk: StreamChunk): Array<Response.StreamPartEncoded> => {
    const out: Array<Response.StreamPartEncoded> = []
    if ((chunk.choiceIndex ?? 0) !== 0) return out
    if (chunk.provider !== undefined) provider = chunk.provider
    if (chunk.model !== undefined) model = chunk.model
    if (chunk.attempts !== undefined) attempts = chunk.attempts
    if (!started) {
      started = true
      out.push({ type: "response-metadata", ...(provider && model ? { modelId: `${provider}/${model}` } : {}) })
    }
    if (chunk.reasoningDelta !== undefined && chunk.reasoningDelta.length > 0) {
      closeText(out)
      if (reasoning === undefined) {
        reasoning = `reasoning-${blocks++}`
        out.push({ type: "reasoning-start", id: reasoning })
      }
      out.push({ type: "reasoning-delta", id: reasoning, delta: chunk.reasoningDelta })
    }
    if (chunk.reasoningMetadata !== undefined) closeReasoning(out, chunk.reasoningMetadata)
    if (chunk.delta.length > 0) {
      closeReasoning(out)
      if (text === undefined) {
        text = `text-${blocks++}`
        out.push({ type: "text-start", id: text })
      }
      out.push({ type: "text-delta", id: text, delta: chunk.delta })
    }
    for (const delta of chunk.toolCallDeltas ?? []) {
      let call = calls.get(delta.index)
      if (call === undefined) {
        closeText(out)
        closeReasoning(out)
        call = { id: delta.id ?? `call_${delta.index}`, name: delta.name ?? "", args: "" }
        calls.set(delta.index, call)
        out.push({ type: "tool-params-start", id: call.id, name: call.name })
      }
      if (delta.argumentsDelta !== undefined && delta.argumentsDelta.length > 0) {
        call.args += delta.argumentsDelta
        out.push({ type: "tool-params-delta", id: call.id, delta: delta.argumentsDelta })
      }
    }
    if (chunk.finishReason !== undefined) out.push(...finish(chunk))
    return out
  }

  /** Closes open blocks, emits the complete tool calls and the finish part (once). */
  const finish = (last?: StreamChunk): Array<Response.StreamPartEncoded> => {
    if (finished) return []
    finished = true
    const out: Array<Response.StreamPartEncoded> = []
    closeText(out)
    closeReasoning(out)
    for (const call of calls.values()) {
      out.push({ type: "tool-params-end", id: call.id })
      out.push({ type: "tool-call", id: call.id, name: call.name, params: parseParams(call.args) })
    }
    const usage = last?.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 }
    out.push({
      type: "finish",
      reason: finishReasons[last?.finishReason ?? "unknown"],
      usage: aiUsage(usage),
      metadata: gatewayMetadata({ provider, model, costUsd: last?.costUsd ?? 0, cached: last?.cached ?? false, attempts })
    })
    return out
  }

  return { next, end: () => finish() }
}

/** The reason effect/ai callers match on (`Effect.catchReason`), with the gateway's error kept in metadata. */
const reasonOf = (error: LLMError): AiError.AiErrorReason => {
  const metadata = { gateway: { tag: error._tag, attempts: (attemptsOf(error) ?? []) as unknown as Json } }
  switch (error._tag) {
    case "RateLimitExceeded":
      return new AiError.RateLimitError({
        ...(error.retryAfter > 0 ? { retryAfter: Duration.millis(error.retryAfter) } : {}),
        metadata
      })
    case "InvalidRequest":
      return new AiError.InvalidRequestError({
        ...(error.param !== undefined ? { parameter: error.param } : {}),
        description: error.message,
        metadata
      })
    case "ContextTooLarge":
      return new AiError.InvalidRequestError({
        parameter: "prompt",
        constraint: `context window${error.contextWindow !== undefined ? ` ${error.contextWindow}` : ""}`,
        description: `${error.model}: the request needs ${error.tokenCount} tokens`,
        metadata
      })
    case "AuthenticationFailed":
      return new AiError.AuthenticationError({ kind: "InvalidKey", description: `${error.model}: ${error.message}`, metadata })
    case "NetworkError":
      return new AiError.NetworkError({ reason: "TransportError", method: "POST", url: error.model, description: error.message })
    case "ModelUnavailable":
      return new AiError.InternalProviderError({ description: `${error.model}: ${error.message}`, metadata })
    case "TimeoutError":
      return new AiError.InternalProviderError({ description: `${error.model}: timed out after ${error.timeoutMs} ms`, metadata })
    case "ConfigurationError":
      return new AiError.UnknownError({ description: `configuration: ${error.message}`, metadata })
  }
}

export const toAiError = (method: string) => (error: LLMError): AiError.AiError =>
  AiError.make({ module: "llm-gateway", method, reason: reasonOf(error) })
