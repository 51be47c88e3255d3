/**
 * Who calls the manager and how: the options every manager method takes. Their own module, so the
 * manager's internal steps read them without importing the manager itself.
 */
import type { LLMRequest } from "../domain/Domain.ts"
import type { PassthroughRequest } from "../providers/Passthrough.ts"

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
}

export interface ChatOptions extends CallContext {
  readonly taskType?: string | undefined
  readonly model?: string | undefined
  readonly preferences?: LLMRequest["preferences"]
  /** A system prompt used when the conversation is created. */
  readonly system?: string | undefined
}
