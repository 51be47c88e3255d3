/**
 * Anthropic's SSE framing of a streamed answer: `message_start`, `ping`, one
 * `content_block_start/delta/stop` run per block (text, thinking, tool_use), `message_delta`
 * with the stop reason and usage, `message_stop`. Like the OpenAI stream, the first chunk is
 * awaited before the status line (a failure up to then is an ordinary error answer); a later
 * failure ends the stream with an in-band `event: error`.
 */
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { Cause, Channel, Effect, Pull, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { HttpServerResponse } from "effect/http"
import { type ApiError, fromLLMError, internalError, serverShuttingDown } from "../HttpError.ts"
import { anthropicErrorBody, anthropicUsage, gatewayHeaders, messageId, type MessagesCall, stopReason } from "./anthropicWire.ts"
import { modelRef } from "./chatWire.ts"
import type { ServerContext } from "./context.ts"
import { CurrentDrain, ShuttingDown } from "./shutdown.ts"

const event = (name: string, data: object): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

type Open = "text" | "thinking" | "tool_use" | undefined

/** Turns gateway chunks into Anthropic's events, tracking the one content block open at a time. */
export class MessageEncoder {
  private index = -1
  private open: Open = undefined
  private readonly tools = new Map<number, number>()
  private usage: StreamChunk["usage"]
  private finish: StreamChunk["finishReason"]
  private readonly id: string
  private readonly model: string
  constructor(id: string, model: string) {
    this.id = id
    this.model = model
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
        usage: { input_tokens: 0, output_tokens: 0 }
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
        delta: { stop_reason: stopReason(this.finish), stop_sequence: null },
        usage: anthropicUsage(this.usage)
      }) +
      event("message_stop", { type: "message_stop" })
  }
}

const utf8 = (text: string): NonEmptyReadonlyArray<Uint8Array> => [Buffer.from(text, "utf8")]

const errorEvent = (ctx: ServerContext, cause: Cause.Cause<LLMError | ShuttingDown>, render = anthropicErrorBody) => {
  const failure = Cause.findErrorOption(cause)
  const e = failure._tag === "None" ? internalError : failure.value instanceof ShuttingDown ? serverShuttingDown : fromLLMError(failure.value)
  const log = failure._tag === "Some"
    ? Effect.logWarning(ctx.scrubber.scrub(`stream failed after its first chunk: ${e.status} ${e.code}: ${e.message}`))
    : Effect.logError(ctx.scrubber.scrub(`stream failed after its first chunk: ${Cause.pretty(cause)}`))
  return Effect.as(log, `event: error\ndata: ${ctx.scrubber.scrub(render(e))}\n\n`)
}

/** The streamed answer; the upstream stream lives in the request's scope (a client that leaves aborts it). */
export const streamMessages = (ctx: ServerContext, call: MessagesCall, scope: string, render = anthropicErrorBody) =>
  Effect.gen(function*() {
    const pull = yield* Channel.toPullScoped(
      Stream.toChannel(ctx.manager.generateStream(call.request, { scope, validated: true })),
      yield* Effect.scope
    )
    const drain = yield* CurrentDrain
    const first: ReadonlyArray<StreamChunk> = yield* Pull.catchDone(pull, () => Effect.succeed([]))
    const head = first[0]
    const provider = head?.provider ?? ""
    const model = head?.model ?? ""
    const encoder = new MessageEncoder(messageId(), modelRef(provider, model))
    const headers = {
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...gatewayHeaders(provider, model, head?.cached === true, [...call.ignored, ...(head?.ignoredFields ?? [])])
    }
    let state: "first" | "streaming" | "done" = "first"
    const onPulled = {
      onSuccess: (text: string): Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown> =>
        text.length === 0 ? body : Effect.succeed(utf8(text)),
      onFailure: (cause: Cause.Cause<LLMError | ShuttingDown | Cause.Done>): Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown> => {
        state = "done"
        if (Pull.isDoneCause(cause)) return Effect.sync(() => utf8(encoder.end()))
        const failure = cause as Cause.Cause<LLMError | ShuttingDown>
        return Cause.hasInterruptsOnly(failure) ? Effect.failCause(failure) : Effect.map(errorEvent(ctx, failure, render), utf8)
      }
    }
    const body: Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown> = Effect.suspend(() => {
      switch (state) {
        case "first":
          state = first.length > 0 ? "streaming" : "done"
          return Effect.sync(() => utf8(encoder.start() + encoder.chunks(first) + (first.length > 0 ? "" : encoder.end())))
        case "streaming":
          return Effect.matchCauseEffect(Effect.map(drain.cuttable(pull), (batch) => encoder.chunks(batch)), onPulled)
        case "done":
          return Cause.done()
      }
    })
    return HttpServerResponse.stream(Stream.fromPull(Effect.succeed(body)), { contentType: "text/event-stream; charset=utf-8", headers })
  })
