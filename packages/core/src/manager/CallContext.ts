/**
 * Who calls the manager and how: the options every manager method takes. Their own module, so the
 * manager's internal steps read them without importing the manager itself.
 */
import type { Effect, Exit } from "effect"
import type { LLMRequest, StreamChunk } from "../domain/Domain.ts"
import type { LLMError } from "../domain/LLMError.ts"
import type { PassthroughRequest } from "../providers/Passthrough.ts"

/**
 * What a caller of `generateStream` sees of the stream from inside the manager's own stage: the
 * server's ledger and budget settle. A stage of the caller's own around the stream (a
 * `Stream.mapArray` and a `Stream.onExit`) cost ~10 % of a streamed answer's CPU
 * (notes/benchmarks.md, "Issue 19, ninth session").
 */
export interface StreamObserver {
  /** Each batch, in order, before the caller reads it (keep it cheap: it runs per batch). */
  readonly batch: (chunks: ReadonlyArray<StreamChunk>) => void
  /** Once, when the stream ends: done, failed (the request refused, too) or interrupted (the caller stopped reading). */
  readonly exit: (exit: Exit.Exit<unknown, LLMError>) => Effect.Effect<void>
}

/** Who is calling: the tenant / API key that scopes cache entries and usage. */
export interface CallContext {
  readonly scope?: string | undefined
  /**
   * The caller built the request from input it already validated against the same rules (the
   * HTTP server does): skip the Schema decode (its CPU share: notes/benchmarks.md).
   */
  readonly validated?: boolean | undefined
  /**
   * The request as its client sent it in a provider's own API: a candidate of that provider
   * answers it natively (`native` on the answer or on each chunk), the others `req` (providers/Passthrough).
   */
  readonly passthrough?: PassthroughRequest | undefined
  /** `generateStream` only: sees its batches and its end (`StreamObserver`). */
  readonly observe?: StreamObserver | undefined
}

export interface ChatOptions extends CallContext {
  readonly taskType?: string | undefined
  readonly model?: string | undefined
  readonly preferences?: LLMRequest["preferences"]
  /** A system prompt used when the conversation is created. */
  readonly system?: string | undefined
}
