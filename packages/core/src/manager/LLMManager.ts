/**
 * What other packages call: `Effect.runPromise(manager.generate(req))`. Ties the router (which
 * model, retries, fallbacks), the cache, conversation storage and usage accounting together.
 */
import { Context, Effect, Layer, Option, type Schema, type Stream } from "effect"
import { UsageAccounting, type UsageRow } from "../accounting/UsageAccounting.ts"
import { CacheService } from "../cache/CacheService.ts"
import { LLMConfig } from "../config/LLMConfig.ts"
import {
  type Conversation,
  type ConversationAlreadyExists,
  type ConversationNotFound,
  ConversationStorage
} from "../conversations/ConversationStorage.ts"
import type { ChatMessage, EmbeddingInput, EmbeddingResponse, LLMRequest, LLMResponse, StreamChunk } from "../domain/Domain.ts"
import { InvalidRequest, type LLMError } from "../domain/LLMError.ts"
import { annotated, isTracing, spanned } from "../metrics/GenAiSpans.ts"
import type { PassthroughRequest } from "../providers/Passthrough.ts"
import { ModelRouter } from "../routing/ModelRouter.ts"
import type { CallContext, ChatOptions } from "./CallContext.ts"
import { makeConversations, type SavedConversation } from "./internal/conversations.ts"
import { makeGenerate } from "./internal/generate.ts"
import { makeRecorder } from "./internal/record.ts"
import { DEFAULT_SCOPE, makeRequestCheck } from "./internal/requests.ts"
import { makeSpanNaming } from "./internal/spans.ts"
import { makeGenerateStream } from "./internal/stream.ts"
import { makeGenerateObject, type StructuredOutputError } from "./internal/structuredOutput.ts"

// makeGenerateObject: a wrapper of the manager (the server's keys and budgets) builds the same
// generateObject over its own generate, so each of its calls is admitted and recorded
export { makeGenerateObject, StructuredOutputError } from "./internal/structuredOutput.ts"
// The server keys usage rows by task too: it bounds the name exactly as the manager routes it.
export { makeTaskResolver } from "./internal/tasks.ts"
export type { SavedConversation } from "./internal/conversations.ts"

export type { CallContext, ChatOptions, StreamObserver } from "./CallContext.ts"

export interface ChatResponse extends LLMResponse {
  readonly conversationId: string
}

export interface EmbedOptions {
  readonly model?: string | undefined
  /** The caller's tenant scope (the server's keys, budgets and ledger read it); `default` if unset. */
  readonly scope?: string | undefined
  readonly dimensions?: number | undefined
}

export interface EmbedResult extends EmbeddingResponse {
  readonly provider: string
}

export interface LLMManagerShape {
  readonly generate: (req: LLMRequest, ctx?: CallContext) => Effect.Effect<LLMResponse, LLMError>
  /** Chunks `{ delta, … }`; the last carries `usage`, `finishReason`, `costUsd`. */
  readonly generateStream: (req: LLMRequest, ctx?: CallContext) => Stream.Stream<StreamChunk, LLMError>
  readonly chat: (
    conversationId: string,
    message: string | ChatMessage,
    options?: ChatOptions
  ) => Effect.Effect<ChatResponse, LLMError>
  /** A conversation `chat` keeps (history in order), within the caller's scope. */
  readonly getConversation: (conversationId: string, ctx?: CallContext) => Effect.Effect<Conversation, ConversationNotFound>
  /** Forgets a conversation: the next `chat` with its id starts a new one. */
  readonly deleteConversation: (conversationId: string, ctx?: CallContext) => Effect.Effect<void, ConversationNotFound>
  /** Stores a whole conversation answered elsewhere (the server's stored Responses) in the caller's scope. */
  readonly saveConversation: (conversation: SavedConversation, ctx?: CallContext) => Effect.Effect<Conversation, ConversationAlreadyExists>
  /** Texts, or token arrays (OpenAI-wire providers only); `dimensions` for models that can shorten vectors. */
  readonly embed: (texts: EmbeddingInput, options?: EmbedOptions) => Effect.Effect<EmbedResult, LLMError>
  readonly generateObject: <A, I>(
    req: LLMRequest,
    schema: Schema.Codec<A, I>,
    ctx?: CallContext
  ) => Effect.Effect<{ readonly object: A; readonly response: LLMResponse }, LLMError | StructuredOutputError>
  readonly usage: Effect.Effect<ReadonlyArray<UsageRow>>
}

/**
 * The manager from its collaborators, as named steps: how a request is accepted, recorded and
 * named on spans, then each method over those (manager/internal/*).
 */
export const make = Effect.gen(function*() {
  const router = yield* ModelRouter
  const cache = yield* CacheService
  const storage = yield* ConversationStorage
  const accounting = yield* UsageAccounting
  const config = Option.getOrUndefined(yield* Effect.serviceOption(LLMConfig))
  const { accept, resolveTask } = makeRequestCheck(config?.routing)
  const record = makeRecorder(accounting)
  const spans = makeSpanNaming(config)
  const generateValidated = makeGenerate(router, cache, record)

  // a span only while the tracer is on (GenAiSpans.spanned: a traced Effect.fn costs ~3 µs a
  // call even with the tracer off; notes/benchmarks.md)
  const traced = spanned("LLMManager.generate", Effect.fnUntraced(function*(req: LLMRequest, ctx?: CallContext) {
    const valid = yield* accept(req, ctx?.validated)
    return yield* annotated("chat", () => spans.spanRequest(valid), spans.genAiProvider, generateValidated(valid, ctx?.scope ?? DEFAULT_SCOPE, undefined, ctx?.passthrough))
  }))
  // tracer off (the server without OTLP): the same steps without the generator and the span checks
  const generate = (req: LLMRequest, ctx?: CallContext): Effect.Effect<LLMResponse, LLMError> =>
    Effect.withFiber((fiber) =>
      isTracing(fiber)
        ? traced(req, ctx)
        : Effect.flatMap(accept(req, ctx?.validated), (valid) => generateValidated(valid, ctx?.scope ?? DEFAULT_SCOPE, undefined, ctx?.passthrough))
    )

  const embed = Effect.fn("LLMManager.embed")(function*(texts: EmbeddingInput, options?: EmbedOptions) {
    if (texts.length === 0) return yield* new InvalidRequest({ message: "embed needs at least one text", param: "input" })
    return yield* router.embed({ model: options?.model, input: texts, dimensions: options?.dimensions })
  })

  return LLMManager.of({
    generate,
    generateStream: makeGenerateStream({ router, cache, record, spans, accept }),
    ...makeConversations({ router, storage, resolveTask, generate: generateValidated }),
    embed,
    generateObject: makeGenerateObject(generate),
    usage: accounting.report
  })
})

export class LLMManager extends Context.Service<LLMManager, LLMManagerShape>()("@llm-gateway/core/LLMManager") {
  /** Needs ModelRouter, CacheService, ConversationStorage and UsageAccounting. */
  static readonly layerNoDeps = Layer.effect(LLMManager, make)
}
