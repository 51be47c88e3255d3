/**
 * The gateway's domain: what callers send (`LLMRequest`), what they get back (`LLMResponse`,
 * `StreamChunk`), and what a provider client is asked to do (`ProviderRequest`).
 * Schemas only — no behaviour — so every package can share them.
 */
import { Schema } from "effect"
import {
  ChatMessage,
  ReasoningOptions,
  ResponsePart,
  ResponseToolCall,
  ToolCallDelta,
  ToolChoice,
  ToolDefinition
} from "./Messages.ts"

export * from "./Messages.ts"

/**
 * The built-in task types (notes/routing.md "Candidates", plus `alert-classification` for the ops use case); a name
 * defined in `routing.tasks` is known too. Any other name maps to `general` or is refused, as
 * `routing.unknownTasks` says: a caller-chosen string never becomes a map key or a label.
 */
export const BuiltinTaskTypes = [
  "analysis",
  "ui-generation",
  "config-management",
  "general",
  "sql",
  "alert-classification"
] as const
export type BuiltinTaskType = typeof BuiltinTaskTypes[number]

export const TaskType = Schema.String.check(Schema.isNonEmpty())
export type TaskType = BuiltinTaskType | (string & {})

export const Role = Schema.Literals(["system", "user", "assistant", "tool"])
export type Role = typeof Role.Type

export const RoutingStrategy = Schema.Literals(["cost", "performance", "balanced"])
export type RoutingStrategy = typeof RoutingStrategy.Type

/** `provider/model`: the provider's configured name, a slash, the provider's model id (which may contain slashes). */
export const ModelRef = Schema.String.check(Schema.isPattern(/^[^/\s]+\/\S+$/))
export type ModelRef = string

export interface ParsedModelRef {
  readonly provider: string
  readonly model: string
}

/** Splits at the first slash: `ollama/library/llama3` is provider `ollama`, model `library/llama3`. */
export const parseModelRef = (ref: string): ParsedModelRef | undefined => {
  const i = ref.indexOf("/")
  if (i <= 0 || i === ref.length - 1) return undefined
  return { provider: ref.slice(0, i), model: ref.slice(i + 1) }
}

export const formatModelRef = (provider: string, model: string): ModelRef => `${provider}/${model}`

export const Preferences = Schema.Struct({
  maxTokens: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  temperature: Schema.optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 }))),
  topP: Schema.optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  stop: Schema.optional(Schema.Array(Schema.String)),
  strategy: Schema.optional(RoutingStrategy)
})
export type Preferences = typeof Preferences.Type

/** Structured output: the provider's JSON mode, or a JSON schema it should follow. */
export const ResponseFormat = Schema.Union([
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    name: Schema.String,
    schema: Schema.Record(Schema.String, Schema.Unknown),
    /** OpenAI's strict schema adherence; passed through to OpenAI-wire upstreams. */
    strict: Schema.optional(Schema.Boolean),
    description: Schema.optional(Schema.String)
  })
])
export type ResponseFormat = typeof ResponseFormat.Type

export const LLMRequest = Schema.Struct({
  prompt: Schema.optional(Schema.String),
  messages: Schema.optional(Schema.Array(ChatMessage)),
  taskType: Schema.optional(TaskType),
  model: Schema.optional(Schema.String),
  preferences: Schema.optional(Preferences),
  conversationId: Schema.optional(Schema.String),
  /** `false` bypasses the response cache for this request. */
  cache: Schema.optional(Schema.Boolean),
  responseFormat: Schema.optional(ResponseFormat),
  /** How many choices to generate (default 1); see `LLMResponse.choices`. */
  n: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  /**
   * OpenAI chat-completions fields the gateway does not interpret (`seed`, `user`, `logprobs`,
   * …), by their wire names: passed through to OpenAI-wire upstreams, mapped or refused for the
   * others (see `RequestFields`). Part of the cache key.
   */
  extra: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  /** The name the caller gave `maxTokens` on OpenAI's wire; OpenAI-wire upstreams get the same. */
  maxTokensField: Schema.optional(Schema.Literals(["max_tokens", "max_completion_tokens"])),
  /** Functions the model may call (notes/rich-messages.md). Part of the cache key. */
  tools: Schema.optional(Schema.Array(ToolDefinition)),
  toolChoice: Schema.optional(ToolChoice),
  parallelToolCalls: Schema.optional(Schema.Boolean),
  /** Reasoning effort / budget for reasoning models (OpenAI `reasoning_effort`, Anthropic thinking). */
  reasoning: Schema.optional(ReasoningOptions)
})
export type LLMRequest = typeof LLMRequest.Type

/** The messages a request stands for: `messages`, else `prompt` as one user turn. */
export const requestMessages = (req: LLMRequest): ReadonlyArray<ChatMessage> =>
  req.messages ?? (req.prompt !== undefined ? [{ role: "user", content: req.prompt }] : [])

/**
 * Tokens of one request, in one convention for every provider (OpenAI's): `promptTokens` counts
 * every input token, including those read from or written to the provider's prompt cache;
 * `cachedPromptTokens` and `cacheWriteTokens` say how many of them were, and are billed at the
 * model's cached / cache-write rates. `reasoningTokens` are part of `completionTokens`. The
 * optional counts are present only when the provider reported a non-zero number.
 */
export const Usage = Schema.Struct({
  promptTokens: Schema.Int,
  completionTokens: Schema.Int,
  totalTokens: Schema.Int,
  /** Of `promptTokens`: read from the provider's prompt cache. */
  cachedPromptTokens: Schema.optional(Schema.Int),
  /** Of `promptTokens`: written to the provider's prompt cache (Anthropic's cache creation). */
  cacheWriteTokens: Schema.optional(Schema.Int),
  /** Of `completionTokens`: hidden reasoning (OpenAI's o-series, gpt-5). */
  reasoningTokens: Schema.optional(Schema.Int)
})
export type Usage = typeof Usage.Type

/** What a provider reports beyond the two totals (any may be missing, null or 0). */
export interface UsageDetails {
  readonly cachedPromptTokens?: number | null | undefined
  readonly cacheWriteTokens?: number | null | undefined
  readonly reasoningTokens?: number | null | undefined
}

/** `promptTokens` includes cached and cache-write tokens (see {@link Usage}). */
export const makeUsage = (promptTokens: number, completionTokens: number, details?: UsageDetails): Usage => {
  const usage: { -readonly [K in keyof Usage]: Usage[K] } = {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens
  }
  if (details !== undefined) {
    if (details.cachedPromptTokens != null && details.cachedPromptTokens > 0) usage.cachedPromptTokens = details.cachedPromptTokens
    if (details.cacheWriteTokens != null && details.cacheWriteTokens > 0) usage.cacheWriteTokens = details.cacheWriteTokens
    if (details.reasoningTokens != null && details.reasoningTokens > 0) usage.reasoningTokens = details.reasoningTokens
  }
  return usage
}

export const FinishReason = Schema.Literals(["stop", "length", "content_filter", "tool_calls", "error", "unknown"])
export type FinishReason = typeof FinishReason.Type

/** One try of one model during a request, as the caller sees it afterwards. */
export const Attempt = Schema.Struct({
  model: Schema.String,
  /** `ok`, or the LLMError tag that ended the attempt (`skipped:…` when never sent). */
  outcome: Schema.String,
  ms: Schema.Finite
})
export type Attempt = typeof Attempt.Type

/** One of several answers to a request with `n` > 1. */
export const Choice = Schema.Struct({
  content: Schema.String,
  finishReason: FinishReason,
  /** The choice's reasoning, text and tool calls in order (absent: text only). */
  parts: Schema.optional(Schema.Array(ResponsePart))
})
export type Choice = typeof Choice.Type

export const LLMResponse = Schema.Struct({
  /** The first choice (with `n` > 1, `choices` holds them all). */
  content: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  usage: Usage,
  costUsd: Schema.Finite,
  latencyMs: Schema.Finite,
  cached: Schema.Boolean,
  finishReason: FinishReason,
  attempts: Schema.Array(Attempt),
  /** Every choice, in order, when the request asked for `n` > 1 (the first is `content`). */
  choices: Schema.optional(Schema.Array(Choice)),
  /** `extra` fields the answering provider could not use and that do not change the answer. */
  ignoredFields: Schema.optional(Schema.Array(Schema.String)),
  /** Reasoning, text and tool calls in order, when the answer is more than text (`content` is the text). */
  parts: Schema.optional(Schema.Array(ResponsePart)),
  /** The tool calls among `parts` (finish reason `tool_calls`). */
  toolCalls: Schema.optional(Schema.Array(ResponseToolCall)),
  /** A pass-through answer: the upstream's own JSON, unchanged but for its model id (providers/Passthrough). */
  native: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  /** The caller's stop sequence that ended the answer, when the upstream says which (finish `stop`). */
  stopSequence: Schema.optional(Schema.String)
})
export type LLMResponse = typeof LLMResponse.Type

/** One piece of a streamed answer; the last chunk carries `usage` and `finishReason`. */
export const StreamChunk = Schema.Struct({
  delta: Schema.String,
  provider: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  usage: Schema.optional(Usage),
  finishReason: Schema.optional(FinishReason),
  costUsd: Schema.optional(Schema.Finite),
  cached: Schema.optional(Schema.Boolean),
  /** Set by the router on the first chunk: the tries it took to get a stream going. */
  attempts: Schema.optional(Schema.Array(Attempt)),
  /** Which choice this chunk belongs to when `n` > 1 (absent: choice 0). */
  choiceIndex: Schema.optional(Schema.Int),
  /** On the first chunk: `extra` fields the answering provider ignored (see `LLMResponse`). */
  ignoredFields: Schema.optional(Schema.Array(Schema.String)),
  /** Tool-call fragments, forwarded as the upstream sends them (never buffered whole). */
  toolCallDeltas: Schema.optional(Schema.Array(ToolCallDelta)),
  /** A piece of the model's reasoning text. */
  reasoningDelta: Schema.optional(Schema.String),
  /** Opaque provider data closing a reasoning part (`anthropic: { signature }`). */
  reasoningMetadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  /** A pass-through stream: the upstream's own event, as an SSE frame ready to write (providers/Passthrough). */
  native: Schema.optional(Schema.String),
  /** On the last chunk: the caller's stop sequence that ended the answer, when the upstream says which. */
  stopSequence: Schema.optional(Schema.String),
  /**
   * On the first chunk, when the upstream counts the prompt before it answers (Anthropic's
   * `message_start`, llama.cpp): the prompt's tokens, in `Usage.promptTokens`' convention.
   */
  promptTokens: Schema.optional(Schema.Int)
})
export type StreamChunk = typeof StreamChunk.Type

/**
 * What one provider client is asked to do: a resolved request for one of its models.
 * `model` is the provider's own model id (no `provider/` prefix).
 */
export interface ProviderRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly maxTokens?: number | undefined
  readonly temperature?: number | undefined
  readonly topP?: number | undefined
  readonly stop?: ReadonlyArray<string> | undefined
  readonly responseFormat?: ResponseFormat | undefined
  /** Choices to generate; only sent to clients whose `fields` policy passes `n` natively. */
  readonly n?: number | undefined
  /** The request's `extra` fields this provider passes through or maps (refused/ignored removed). */
  readonly extra?: Readonly<Record<string, unknown>> | undefined
  /** The wire name the caller used for `maxTokens` (OpenAI-wire upstreams send the same). */
  readonly maxTokensField?: "max_tokens" | "max_completion_tokens" | undefined
  /**
   * The attempt's time budget, set by the router for clients that enforce it themselves
   * (`ModelClientShape.enforcesTimeout`): past it the call (a stream: its first chunk) fails
   * with TimeoutError (`no answer within N ms`).
   */
  readonly timeoutMs?: number | undefined
  /**
   * A stream's stall bound, set by the router for the same clients: once the first chunk is in,
   * a wait of this long for the next one fails the stream with TimeoutError
   * (`stream stalled for N ms`).
   */
  readonly stallTimeoutMs?: number | undefined
  readonly tools?: ReadonlyArray<ToolDefinition> | undefined
  readonly toolChoice?: ToolChoice | undefined
  readonly parallelToolCalls?: boolean | undefined
  readonly reasoning?: ReasoningOptions | undefined
}

/** What a provider client answers for a non-streamed request. */
export interface ProviderResponse {
  readonly content: string
  readonly model: string
  readonly usage: Usage
  readonly finishReason: FinishReason
  /** Every choice when the upstream generated several (`n` > 1); the first is `content`. */
  readonly choices?: ReadonlyArray<Choice> | undefined
  /** Reasoning, text and tool calls in order, when the answer is more than text. */
  readonly parts?: ReadonlyArray<ResponsePart> | undefined
  /** A pass-through answer's upstream JSON (providers/Passthrough). */
  readonly native?: Readonly<Record<string, unknown>> | undefined
  /** The caller's stop sequence that ended the answer, when the upstream says which. */
  readonly stopSequence?: string | undefined
}

/** Texts, or (OpenAI-wire upstreams only) pre-tokenized inputs: token ids per input. */
export type EmbeddingInput = ReadonlyArray<string> | ReadonlyArray<ReadonlyArray<number>>

/** True when the inputs are token arrays rather than texts. */
export const isTokenInput = (input: EmbeddingInput): input is ReadonlyArray<ReadonlyArray<number>> =>
  input.length > 0 && typeof input[0] !== "string"

export interface EmbeddingRequest {
  readonly model: string
  readonly input: EmbeddingInput
  /** Output vector length, for models that can shorten theirs (OpenAI's text-embedding-3-*). */
  readonly dimensions?: number | undefined
}

export interface EmbeddingResponse {
  readonly model: string
  readonly embeddings: ReadonlyArray<ReadonlyArray<number>>
  readonly usage: Usage
}

export interface HealthStatus {
  readonly healthy: boolean
  readonly latencyMs: number
  /** Models the upstream reports, when it can list them. */
  readonly models?: ReadonlyArray<string> | undefined
  /** Why it is unhealthy; never contains a secret. */
  readonly error?: string | undefined
}
