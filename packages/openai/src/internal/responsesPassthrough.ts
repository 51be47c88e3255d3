/**
 * OpenAI's Responses API passed through (core providers/Passthrough): the client's body goes to
 * `POST /v1/responses` through the official SDK's `responses.create` as it came, with the
 * deployment's model id — hosted tools, `include`, `reasoning`, `prompt_cache_key`, encrypted
 * reasoning items all reach OpenAI — and the answer comes back as OpenAI sent it, its `model` set
 * to the gateway's name for it. Usage, finish reason and text are read off the way for the
 * gateway's accounting and ledger.
 *
 * Only the real OpenAI (`type: "openai"`) offers it: compatible servers and Azure deployments
 * implement the Responses API partly or not at all, so they get the translated request.
 *
 * A stream's events are written back one SSE frame each, named by their `type` (what OpenAI names
 * them by); an in-band `error` event is raised by the SDK as the same APIError the error table
 * maps. `response.failed` / `response.incomplete` pass as they came and close the stream.
 */
import type { FinishReason, StreamChunk, Usage } from "@llm-gateway/core/domain/Domain"
import { makeUsage } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { currentTraceparent } from "@llm-gateway/core/metrics/GenAiSpans"
import type { ModelClientPassthrough, PassthroughCall, PassthroughResponse } from "@llm-gateway/core/providers/Passthrough"
import { passthroughBody, passthroughHeaders } from "@llm-gateway/core/providers/Passthrough"
import { upstreamStream } from "@llm-gateway/core/providers/UpstreamStream"
import { Effect, Stream } from "effect"
import type OpenAI from "openai"
import { type ErrorScope, toLLMError } from "./errors.ts"

type Rec = Record<string, unknown>

const bodyFor = (call: PassthroughCall): Rec => passthroughBody(call)

/** OpenAI's usage (input includes cached tokens, output includes reasoning: the gateway's convention). */
export const responsesUsage = (u: Rec | null | undefined): Usage | undefined => {
  if (u === null || u === undefined || typeof u.input_tokens !== "number") return undefined
  const details = u.input_tokens_details as Rec | undefined
  const outDetails = u.output_tokens_details as Rec | undefined
  return makeUsage(u.input_tokens, typeof u.output_tokens === "number" ? u.output_tokens : 0, {
    cachedPromptTokens: details?.cached_tokens as number | undefined,
    reasoningTokens: outDetails?.reasoning_tokens as number | undefined
  })
}

/** The gateway's finish reason for a Response: its status, its incomplete reason, its function calls. */
export const responsesFinish = (r: Rec): FinishReason => {
  if (r.status === "failed") return "error"
  if (r.status === "incomplete") {
    const reason = (r.incomplete_details as Rec | null | undefined)?.reason
    return reason === "max_output_tokens" ? "length" : reason === "content_filter" ? "content_filter" : "unknown"
  }
  const output = Array.isArray(r.output) ? (r.output as Array<Rec>) : []
  return output.some((item) => item.type === "function_call") ? "tool_calls" : "stop"
}

const outputText = (r: Rec): string => {
  let text = ""
  for (const item of Array.isArray(r.output) ? (r.output as Array<Rec>) : []) {
    if (item.type !== "message" || !Array.isArray(item.content)) continue
    for (const part of item.content as Array<Rec>) if (part.type === "output_text" && typeof part.text === "string") text += part.text
  }
  return text
}

const withModel = (r: Rec, model: string): Rec => ({ ...r, model })

const frame = (type: string, data: unknown): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`

/** The events that end a Response stream, each carrying the final Response. */
const FINAL = new Set(["response.completed", "response.failed", "response.incomplete"])

/** One chunk per upstream event: its frame, the text it adds and, on the closing event, usage and finish. */
export async function* responsesChunks(events: AsyncIterable<Rec>, answerModel: string): AsyncGenerator<StreamChunk> {
  for await (const event of events) {
    const type = String(event.type)
    const response = event.response as Rec | undefined
    const data = response !== undefined && typeof response === "object" ? { ...event, response: withModel(response, answerModel) } : event
    const native = frame(type, data)
    if (type === "response.output_text.delta") yield { delta: String(event.delta ?? ""), native }
    else if (type === "response.reasoning_summary_text.delta") yield { delta: "", reasoningDelta: String(event.delta ?? ""), native }
    else if (FINAL.has(type) && response !== undefined) {
      const usage = responsesUsage(response.usage as Rec | null | undefined) ?? makeUsage(0, 0)
      yield { delta: "", native, usage, finishReason: responsesFinish(response) }
    } else yield { delta: "", native }
  }
}

export const makeResponsesPassthrough = (sdk: OpenAI, scope: ErrorScope): ModelClientPassthrough => {
  const errorInput = (call: PassthroughCall) => ({ model: call.model, messages: [] })

  const generate = Effect.fn("OpenAIClient.passthrough")(
    function*(call: PassthroughCall): Effect.fn.Return<PassthroughResponse, LLMError> {
      const tp = yield* currentTraceparent
      const answer = yield* Effect.tryPromise({
        try: (signal) =>
          sdk.responses.create(bodyFor(call) as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming, {
            signal,
            headers: passthroughHeaders(call, tp)
          }),
        catch: (error) => toLLMError(error, errorInput(call), scope)
      })
      const r = answer as unknown as Rec
      return {
        content: outputText(r),
        model: typeof r.model === "string" ? r.model : call.model,
        usage: responsesUsage(r.usage as Rec | null | undefined) ?? makeUsage(0, 0),
        finishReason: responsesFinish(r),
        native: withModel(r, call.answerModel)
      }
    }
  )

  const stream = (call: PassthroughCall): Stream.Stream<StreamChunk, LLMError> =>
    upstreamStream({
      open: (signal, tp) =>
        sdk.responses.create({ ...bodyFor(call), stream: true } as unknown as OpenAI.Responses.ResponseCreateParamsStreaming, {
          signal,
          headers: passthroughHeaders(call, tp)
        }),
      chunks: (events) => responsesChunks(events as unknown as AsyncIterable<Rec>, call.answerModel),
      toError: (error) => toLLMError(error, errorInput(call), scope),
      span: "OpenAIClient.passthroughStream"
    })

  return { apis: ["openai.responses"], generate, stream }
}
