/**
 * Anthropic's streamed events → the gateway's `StreamChunk`s.
 *
 * Usage is exact, never estimated: `message_start` carries the prompt tokens and each
 * `message_delta` the cumulative output tokens. One final chunk (empty delta) carries `usage`
 * and `finishReason`, emitted on `message_stop`. A stream that ends without `message_stop`
 * was cut: it fails, it is never passed off as a complete answer.
 *
 * Beyond text (notes/rich-messages.md §3): a `tool_use` block opens a tool call (index, id,
 * name) and each `input_json_delta` is forwarded as it arrives, never buffered whole; thinking
 * arrives as reasoning deltas, and its `signature_delta` (or a `redacted_thinking` block's
 * payload) as `reasoningMetadata.anthropic`, so the caller can send the block back unchanged.
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import { type InputUsage, promptTokens, toFinishReason, toUsage } from "./convert.ts"

/** Thrown when the event stream ends before `message_stop`. */
export class StreamTruncated extends Error {
  override readonly name = "StreamTruncated"
}

export async function* toChunks(
  events: AsyncIterable<Anthropic.Messages.RawMessageStreamEvent>
): AsyncGenerator<StreamChunk> {
  // input_tokens and the cache read/write counts, as last reported
  let input: InputUsage = {}
  let output = 0
  let stopReason: string | null = null
  let stopped = false
  let stopSequence: string | null = null
  // the first chunk carries the prompt's count, which message_start gave before any content
  let announced = false
  const opening = (c: StreamChunk): StreamChunk => {
    if (announced) return c
    announced = true
    return { ...c, promptTokens: promptTokens(input) }
  }
  // content block index → tool call index (the calls' order among the answer's tool calls)
  const toolIndex = new Map<number, number>()
  for await (const event of events) {
    switch (event.type) {
      case "message_start":
        input = event.message.usage
        output = event.message.usage.output_tokens
        break
      case "content_block_start": {
        const block = event.content_block
        if (block.type === "tool_use") {
          const index = toolIndex.size
          toolIndex.set(event.index, index)
          yield opening({ delta: "", toolCallDeltas: [{ index, id: block.id, name: block.name }] })
        } else if (block.type === "redacted_thinking") {
          yield opening({ delta: "", reasoningDelta: "", reasoningMetadata: { anthropic: { redactedData: block.data } } })
        }
        break
      }
      case "content_block_delta": {
        const delta = event.delta
        if (delta.type === "text_delta") {
          if (delta.text.length > 0) yield opening({ delta: delta.text })
        } else if (delta.type === "input_json_delta") {
          const index = toolIndex.get(event.index)
          if (index !== undefined && delta.partial_json.length > 0) {
            yield opening({ delta: "", toolCallDeltas: [{ index, argumentsDelta: delta.partial_json }] })
          }
        } else if (delta.type === "thinking_delta") {
          if (delta.thinking.length > 0) yield opening({ delta: "", reasoningDelta: delta.thinking })
        } else if (delta.type === "signature_delta") {
          yield opening({ delta: "", reasoningMetadata: { anthropic: { signature: delta.signature } } })
        }
        break
      }
      case "message_delta":
        stopReason = event.delta.stop_reason ?? stopReason
        stopSequence = event.delta.stop_sequence ?? stopSequence
        output = event.usage.output_tokens
        // Newer API versions repeat the (final) input counts here; prefer them when present.
        if (event.usage.input_tokens != null) input = event.usage
        break
      case "message_stop":
        stopped = true
        yield opening({
          delta: "",
          usage: toUsage({ ...input, output_tokens: output }),
          finishReason: toFinishReason(stopReason),
          ...(stopSequence !== null ? { stopSequence } : {})
        })
        // Keep reading to the end of the body (right after this event) instead of returning:
        // leaving it unread would make the SDK abort the request and lose the keep-alive socket.
        break
    }
  }
  if (!stopped) throw new StreamTruncated("stream ended before message_stop")
}
