/**
 * Anthropic's SSE framing of a streamed answer: `message_start`, `ping`, one
 * `content_block_start/delta/stop` run per block (text, thinking, tool_use), `message_delta`
 * with the stop reason and usage, `message_stop`; a failure after the first chunk ends the stream
 * with an in-band `event: error`. The stream itself is run by the shared driver (sseStream.ts).
 */
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { PassthroughRequest } from "@llm-gateway/core/providers/Passthrough"
import type { ApiError } from "../HttpError.ts"
import { anthropicErrorBody, anthropicUsage, gatewayHeaders, messageId, type MessagesCall, stopReason } from "./anthropicWire.ts"
import { modelRef } from "./chatWire.ts"
import type { ServerContext } from "./context.ts"
import { NativeEventEncoder } from "./anthropicPassthrough.ts"
import { type SseEncoder, sseResponse } from "./sseStream.ts"

const event = (name: string, data: object): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

type Open = "text" | "thinking" | "tool_use" | undefined

/** Turns gateway chunks into Anthropic's events, tracking the one content block open at a time. */
export class MessageEncoder implements SseEncoder {
  private index = -1
  private open: Open = undefined
  private readonly tools = new Map<number, number>()
  private usage: StreamChunk["usage"]
  private finish: StreamChunk["finishReason"]
  private stopSequence: string | undefined
  private readonly id: string
  private readonly model: string
  private readonly render: (e: ApiError) => string
  /** The prompt's tokens when the upstream counted them before answering (else 0 until message_delta). */
  private readonly inputTokens: number
  constructor(id: string, model: string, render: (e: ApiError) => string = anthropicErrorBody, inputTokens = 0) {
    this.id = id
    this.model = model
    this.render = render
    this.inputTokens = inputTokens
  }

  start(): string {
    return event("message_start", {
      type: "message_start",
      message: {
        id: this.id,
        type: "message",
        role: "assistant",
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: this.inputTokens, output_tokens: 0 }
      }
    }) + event("ping", { type: "ping" })
  }

  private close(): string {
    if (this.open === undefined) return ""
    this.open = undefined
    return event("content_block_stop", { type: "content_block_stop", index: this.index })
  }

  private begin(kind: Exclude<Open, undefined>, block: object): string {
    const out = this.close()
    this.index++
    this.open = kind
    return out + event("content_block_start", { type: "content_block_start", index: this.index, content_block: block })
  }

  private delta(delta: object): string {
    return event("content_block_delta", { type: "content_block_delta", index: this.index, delta })
  }

  chunk(c: StreamChunk): string {
    if (c.usage !== undefined) this.usage = c.usage
    if (c.finishReason !== undefined) this.finish = c.finishReason
    if (c.stopSequence !== undefined) this.stopSequence = c.stopSequence
    let out = ""
    if (c.reasoningDelta !== undefined && c.reasoningDelta.length > 0) {
      if (this.open !== "thinking") out += this.begin("thinking", { type: "thinking", thinking: "", signature: "" })
      out += this.delta({ type: "thinking_delta", thinking: c.reasoningDelta })
    }
    const own = (c.reasoningMetadata as { anthropic?: { signature?: unknown } } | undefined)?.anthropic
    if (typeof own?.signature === "string") {
      if (this.open !== "thinking") out += this.begin("thinking", { type: "thinking", thinking: "", signature: "" })
      out += this.delta({ type: "signature_delta", signature: own.signature })
    }
    if (c.delta.length > 0) {
      if (this.open !== "text") out += this.begin("text", { type: "text", text: "" })
      out += this.delta({ type: "text_delta", text: c.delta })
    }
    for (const d of c.toolCallDeltas ?? []) {
      if (!this.tools.has(d.index) || d.id !== undefined) {
        out += this.begin("tool_use", { type: "tool_use", id: d.id ?? `toolu_${this.id}_${d.index}`, name: d.name ?? "", input: {} })
        this.tools.set(d.index, this.index)
      }
      if (d.argumentsDelta !== undefined && d.argumentsDelta.length > 0) {
        out += this.delta({ type: "input_json_delta", partial_json: d.argumentsDelta })
      }
    }
    return out
  }

  chunks(batch: ReadonlyArray<StreamChunk>): string {
    let out = ""
    for (const c of batch) out += this.chunk(c)
    return out
  }

  end(): string {
    return this.close() +
      event("message_delta", {
        type: "message_delta",
        delta: { stop_reason: stopReason(this.finish, this.stopSequence), stop_sequence: this.stopSequence ?? null },
        usage: anthropicUsage(this.usage)
      }) +
      event("message_stop", { type: "message_stop" })
  }

  error(e: ApiError): string {
    return `event: error\ndata: ${this.render(e)}\n\n`
  }
}

/** The streamed answer, through the shared SSE driver (sseStream.ts); `render` is the in-band error body. */
export const streamMessages = (
  ctx: ServerContext,
  call: MessagesCall,
  scope: string,
  render = anthropicErrorBody,
  passthrough?: PassthroughRequest
) =>
  sseResponse(ctx, ctx.manager.generateStream(call.request, { scope, validated: true, passthrough }), (head) => {
    const provider = head?.provider ?? ""
    const model = head?.model ?? ""
    // an Anthropic deployment answered natively: its events go out as they came (anthropicPassthrough.ts)
    if (head?.native !== undefined) {
      return { encoder: new NativeEventEncoder(render), headers: gatewayHeaders(provider, model, false, []) }
    }
    return {
      encoder: new MessageEncoder(messageId(), modelRef(provider, model), render, head?.promptTokens),
      headers: gatewayHeaders(provider, model, head?.cached === true, [...call.ignored, ...(head?.ignoredFields ?? [])])
    }
  })
