/**
 * Anthropic's Messages API passed through (core providers/Passthrough): the client's body goes to
 * `POST /v1/messages` as it came, with the deployment's model id, and with its `anthropic-beta`
 * (and `anthropic-version`) headers; the answer comes back as Anthropic sent it, its `model` set
 * to the gateway's name for it. Usage, finish reason and text are read off the way for the
 * gateway's accounting and ledger, exactly as the translated stream reads them
 * (internal/stream.ts): usage is never estimated, and a stream that ends before `message_stop` fails.
 *
 * The SDK parses the event stream (and turns an in-band `error` event into the same APIError the
 * error table maps); each event is written back as one SSE frame named by its `type`, which is
 * what Anthropic names its events by. `ping` frames, which carry nothing, are not repeated.
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { currentTraceparent } from "@llm-gateway/core/metrics/GenAiSpans"
import type { ModelClientPassthrough, PassthroughCall, PassthroughResponse } from "@llm-gateway/core/providers/Passthrough"
import { passthroughBody, passthroughHeaders } from "@llm-gateway/core/providers/Passthrough"
import { upstreamStream } from "@llm-gateway/core/providers/UpstreamStream"
import { Effect, Stream } from "effect"
import { type InputUsage, responseOf, toFinishReason, toUsage } from "./convert.ts"
import { type ErrorContext, toLLMError } from "./errors.ts"
import { StreamTruncated } from "./stream.ts"

/** The client's body for this deployment: the same keys in the same order, `model` replaced. */
const bodyFor = (call: PassthroughCall) => passthroughBody(call) as unknown as Anthropic.Messages.MessageCreateParams

const frame = (type: string, data: unknown): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`

type RawEvent = Anthropic.Messages.RawMessageStreamEvent

/** One chunk per upstream event: its frame, plus what it adds to the answer and, last, the usage. */
export async function* nativeChunks(events: AsyncIterable<RawEvent>, answerModel: string): AsyncGenerator<StreamChunk> {
  let input: InputUsage = {}
  let output = 0
  let stopReason: string | null = null
  let stopped = false
  for await (const event of events) {
    switch (event.type) {
      case "message_start": {
        input = event.message.usage
        output = event.message.usage.output_tokens
        yield { delta: "", native: frame(event.type, { ...event, message: { ...event.message, model: answerModel } }) }
        break
      }
      case "content_block_delta": {
        const delta = event.delta
        const native = frame(event.type, event)
        if (delta.type === "text_delta") yield { delta: delta.text, native }
        else if (delta.type === "thinking_delta") yield { delta: "", reasoningDelta: delta.thinking, native }
        else yield { delta: "", native }
        break
      }
      case "message_delta":
        stopReason = event.delta.stop_reason ?? stopReason
        output = event.usage.output_tokens
        if (event.usage.input_tokens != null) input = event.usage
        yield { delta: "", native: frame(event.type, event) }
        break
      case "message_stop":
        stopped = true
        yield {
          delta: "",
          native: frame(event.type, event),
          usage: toUsage({ ...input, output_tokens: output }),
          finishReason: toFinishReason(stopReason)
        }
        break
      default:
        yield { delta: "", native: frame((event as { type: string }).type, event) }
    }
  }
  if (!stopped) throw new StreamTruncated("stream ended before message_stop")
}

export const makePassthrough = (client: Anthropic, errorContext: (model: string) => ErrorContext): ModelClientPassthrough => {
  const generate = Effect.fn("AnthropicClient.passthrough")(
    function*(call: PassthroughCall): Effect.fn.Return<PassthroughResponse, LLMError> {
      const tp = yield* currentTraceparent
      const message = yield* Effect.tryPromise({
        try: (signal) =>
          client.messages.create(bodyFor(call) as Anthropic.Messages.MessageCreateParamsNonStreaming, {
            signal,
            headers: passthroughHeaders(call, tp)
          }),
        catch: (error) => toLLMError(errorContext(call.model), error)
      })
      return { ...responseOf(message), native: { ...(message as unknown as Record<string, unknown>), model: call.answerModel } }
    }
  )

  const stream = (call: PassthroughCall): Stream.Stream<StreamChunk, LLMError> => {
    const ctx = errorContext(call.model)
    return upstreamStream({
      open: (signal, tp) =>
        client.messages.create({ ...bodyFor(call), stream: true } as Anthropic.Messages.MessageCreateParamsStreaming, {
          signal,
          headers: passthroughHeaders(call, tp)
        }),
      chunks: (events) => nativeChunks(events, call.answerModel),
      toError: (error) => toLLMError(ctx, error),
      span: "AnthropicClient.passthroughStream"
    })
  }

  return { apis: ["anthropic.messages"], generate, stream }
}
