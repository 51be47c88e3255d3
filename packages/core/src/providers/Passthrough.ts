/**
 * Pass-through: a client that speaks a provider's own API (Anthropic's Messages API, OpenAI's
 * Responses API) reaching that very provider gets its request sent upstream unchanged apart from
 * the model id, and the upstream's answer back unchanged apart from the model id — prompt-cache
 * breakpoints, thinking signatures, beta features and fields the gateway has no name for all
 * survive. Everything around the call stays the gateway's: the plan, breakers, limits, retries,
 * fallback, usage and cost from the upstream's usage, metrics, keys, budgets and the ledger
 * (notes/http-api.md "Pass-through").
 *
 * A provider offers it as the optional `passthrough` member of its `ModelClient`; the router uses
 * it for a candidate whose client serves the request's API natively and the translated request
 * (`generate` / `stream`) for every other candidate, so a fallback to another provider still works.
 */
import type { Effect, Stream } from "effect"
import type { ProviderResponse, StreamChunk } from "../domain/Domain.ts"
import type { LLMError } from "../domain/LLMError.ts"

/** The client APIs a provider may serve natively. */
export type PassthroughApi = "anthropic.messages" | "openai.responses"

/** The provider type whose own API each pass-through API is (the real provider, not look-alikes). */
export const passthroughProviderType: Readonly<Record<PassthroughApi, string>> = {
  "anthropic.messages": "anthropic",
  "openai.responses": "openai"
}

/** A request as its client sent it, for a provider that speaks the same API. */
export interface PassthroughRequest {
  readonly api: PassthroughApi
  /** The body as received; `model` is replaced by the deployment's own id, `stream` by the call's. */
  readonly body: Readonly<Record<string, unknown>>
  /** Headers the upstream should see as the client sent them (`anthropic-beta`, …); never credentials. */
  readonly headers: Readonly<Record<string, string>>
}

/** One attempt of a pass-through request on one deployment. */
export interface PassthroughCall extends PassthroughRequest {
  /** The provider's own model id. */
  readonly model: string
  /** The id the answer names its model by (the gateway's `provider/model`). */
  readonly answerModel: string
}

/** A non-streamed answer: the usual fields (for accounting) plus the upstream's JSON. */
export interface PassthroughResponse extends ProviderResponse {
  /** The upstream's answer body, its model id set to `answerModel`. */
  readonly native: Readonly<Record<string, unknown>>
}

export interface ModelClientPassthrough {
  readonly apis: ReadonlyArray<PassthroughApi>
  readonly generate: (call: PassthroughCall) => Effect.Effect<PassthroughResponse, LLMError>
  /**
   * The upstream's events, one chunk each: `native` holds the event's SSE frame ready to write;
   * `delta`, `reasoningDelta` and `toolCallDeltas` what the event adds (for the ledger); the last
   * chunk carries `usage` and `finishReason` as every client stream does.
   */
  readonly stream: (call: PassthroughCall) => Stream.Stream<StreamChunk, LLMError>
}

/** Whether a deployment of this provider type may answer this API natively. */
export const servesNatively = (providerType: string, api: PassthroughApi): boolean => passthroughProviderType[api] === providerType

/** The client's body for this deployment: the same keys in the same order, `model` replaced. */
export const passthroughBody = (call: PassthroughCall): Record<string, unknown> => ({ ...call.body, model: call.model })

/** The client's forwarded headers, plus the trace context when tracing is on. */
export const passthroughHeaders = (call: PassthroughCall, traceparent: string | undefined): Record<string, string> =>
  traceparent === undefined ? { ...call.headers } : { ...call.headers, traceparent }
