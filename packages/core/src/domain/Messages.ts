/**
 * Messages made of parts (notes/rich-messages.md): text, file, reasoning, tool call, tool result.
 * The shapes are effect/ai's `Prompt.MessageEncoded` (same field names, `options` keyed by
 * provider family), restricted to JSON so a message can be cached, stored and sent over HTTP as
 * is: every `ChatMessage` decodes with `Schema.decodeUnknownSync(Prompt.Message)` (tested).
 * `{ role, content: string }` is still a `ChatMessage`.
 */
import { Schema } from "effect"

/** Provider-bound data, keyed by family (`anthropic: { signature }`, `openai: { imageDetail }`). */
export const PartOptions = Schema.Record(Schema.String, Schema.Unknown)
export type PartOptions = typeof PartOptions.Type

export const TextPart = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String,
  options: Schema.optional(PartOptions)
})
export type TextPart = typeof TextPart.Type

/** A file by URL (Prompt's encoded URL form). */
export const FileUrl = Schema.Struct({ _tag: Schema.Literal("URL"), href: Schema.String })
export type FileUrl = typeof FileUrl.Type

/** An image, PDF or audio clip: `data` is base64 (no `data:` prefix) or a URL. */
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  /** `image/png`, `application/pdf`, `audio/wav`, … */
  mediaType: Schema.String,
  fileName: Schema.optional(Schema.String),
  data: Schema.Union([Schema.String, FileUrl]),
  options: Schema.optional(PartOptions)
})
export type FilePart = typeof FilePart.Type

/**
 * A model's reasoning. The provider's signature or redacted payload is opaque and stays in
 * `options.<family>` (`anthropic: { signature }` / `{ redactedData }`), sent back byte for byte.
 */
export const ReasoningPart = Schema.Struct({
  type: Schema.Literal("reasoning"),
  text: Schema.String,
  options: Schema.optional(PartOptions)
})
export type ReasoningPart = typeof ReasoningPart.Type

/** A call the model asked for: `params` is the decoded JSON arguments (not a string). */
export const ToolCallPart = Schema.Struct({
  type: Schema.Literal("tool-call"),
  id: Schema.String,
  name: Schema.String,
  params: Schema.Unknown,
  providerExecuted: Schema.optional(Schema.Boolean),
  options: Schema.optional(PartOptions)
})
export type ToolCallPart = typeof ToolCallPart.Type

/** The caller's answer to a tool call; `isFailure` is effect/ai's name for "is error". */
export const ToolResultPart = Schema.Struct({
  type: Schema.Literal("tool-result"),
  id: Schema.String,
  name: Schema.String,
  isFailure: Schema.Boolean,
  result: Schema.Unknown,
  providerExecuted: Schema.optional(Schema.Boolean),
  options: Schema.optional(PartOptions)
})
export type ToolResultPart = typeof ToolResultPart.Type

export const UserPart = Schema.Union([TextPart, FilePart])
export type UserPart = typeof UserPart.Type
export const AssistantPart = Schema.Union([TextPart, FilePart, ReasoningPart, ToolCallPart, ToolResultPart])
export type AssistantPart = typeof AssistantPart.Type
export type MessagePart = AssistantPart

export const SystemMessage = Schema.Struct({
  role: Schema.Literal("system"),
  content: Schema.String,
  options: Schema.optional(PartOptions)
})
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.Union([Schema.String, Schema.Array(UserPart)]),
  options: Schema.optional(PartOptions)
})
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.Union([Schema.String, Schema.Array(AssistantPart)]),
  options: Schema.optional(PartOptions)
})
export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  content: Schema.Array(ToolResultPart),
  options: Schema.optional(PartOptions)
})

export const ChatMessage = Schema.Union([SystemMessage, UserMessage, AssistantMessage, ToolMessage])
export type ChatMessage = typeof ChatMessage.Type

/** The parts of a message (string content is one text part). */
export const messageParts = (message: ChatMessage): ReadonlyArray<MessagePart> =>
  typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content

/**
 * The text of a message: string content as is, text parts joined. What text-only code reads
 * (token estimates, conversation titles, text-only providers); other parts are not text.
 */
export const messageText = (message: ChatMessage): string => {
  if (typeof message.content === "string") return message.content
  let text = ""
  for (const part of message.content) if (part.type === "text") text += part.text
  return text
}

/** True when the message is text only (string content or text parts). */
export const isTextMessage = (message: ChatMessage): boolean =>
  typeof message.content === "string" || message.content.every((part) => part.type === "text")

// ---------------------------------------------------------------------------------------------
// Request fields

/** A function the model may call; `parameters` is a JSON Schema object. */
export const ToolDefinition = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/)),
  description: Schema.optional(Schema.String),
  parameters: Schema.Record(Schema.String, Schema.Unknown),
  /** OpenAI's strict schema adherence (passed to OpenAI-wire upstreams). */
  strict: Schema.optional(Schema.Boolean)
})
export type ToolDefinition = typeof ToolDefinition.Type

/** effect/ai's `LanguageModel.ToolChoice`: `auto`, `none`, `required`, one tool, or a subset. */
export const ToolChoice = Schema.Union([
  Schema.Literals(["auto", "none", "required"]),
  Schema.Struct({ tool: Schema.String }),
  Schema.Struct({ mode: Schema.optional(Schema.Literals(["auto", "required"])), oneOf: Schema.Array(Schema.String) })
])
export type ToolChoice = typeof ToolChoice.Type

/**
 * OpenAI's efforts (its published schema's `ReasoningEffort`): `none` asks a reasoning model not to
 * reason (a model that reasons by default, such as OpenAI's, needs it said; it needs no
 * reasoning capability), `xhigh` and `max` for more than `high`. Providers with fewer levels map
 * them to their nearest (Anthropic's thinking budget, Ollama's `think`).
 */
export const ReasoningEffort = Schema.Literals(["none", "minimal", "low", "medium", "high", "xhigh", "max"])
export type ReasoningEffort = typeof ReasoningEffort.Type

export const ReasoningOptions = Schema.Struct({
  effort: Schema.optional(ReasoningEffort),
  budgetTokens: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})
export type ReasoningOptions = typeof ReasoningOptions.Type

// ---------------------------------------------------------------------------------------------
// Response side

/** What a model answered, in order (effect/ai's `Response.PartEncoded` subset; `metadata` keyed by family). */
export const ResponseToolCall = Schema.Struct({
  type: Schema.Literal("tool-call"),
  id: Schema.String,
  name: Schema.String,
  params: Schema.Unknown,
  metadata: Schema.optional(PartOptions)
})
export type ResponseToolCall = typeof ResponseToolCall.Type

export const ResponsePart = Schema.Union([
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("reasoning"), text: Schema.String, metadata: Schema.optional(PartOptions) }),
  ResponseToolCall
])
export type ResponsePart = typeof ResponsePart.Type

/** The tool calls among a response's parts. */
export const toolCallsOf = (parts: ReadonlyArray<ResponsePart> | undefined): ReadonlyArray<ResponseToolCall> =>
  parts === undefined ? [] : parts.filter((part): part is ResponseToolCall => part.type === "tool-call")

/**
 * One streamed fragment of a tool call, as OpenAI streams them: the first fragment of call
 * `index` carries `id` and `name`, later ones only `argumentsDelta` (a piece of the JSON text).
 */
export const ToolCallDelta = Schema.Struct({
  index: Schema.Int,
  id: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  argumentsDelta: Schema.optional(Schema.String)
})
export type ToolCallDelta = typeof ToolCallDelta.Type

// ---------------------------------------------------------------------------------------------
// Capabilities

/** What a model can take; absent = unknown = assumed capable (notes/rich-messages.md §4). */
export const ModelCapabilities = Schema.Struct({
  tools: Schema.optional(Schema.Boolean),
  vision: Schema.optional(Schema.Boolean),
  audio: Schema.optional(Schema.Boolean),
  pdf: Schema.optional(Schema.Boolean),
  reasoning: Schema.optional(Schema.Boolean),
  jsonSchema: Schema.optional(Schema.Boolean)
})
export type ModelCapabilities = typeof ModelCapabilities.Type
export type Capability = keyof ModelCapabilities

/** The capability a file part needs, by media type. */
export const fileCapability = (mediaType: string): Capability | undefined =>
  mediaType.startsWith("image/") ? "vision" :
  mediaType.startsWith("audio/") ? "audio" :
  mediaType === "application/pdf" ? "pdf" :
  undefined
