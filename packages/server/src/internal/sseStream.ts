/**
 * The one stream driver behind every streamed answer (OpenAI chat chunks, Anthropic's message
 * events, OpenAI's Responses events): each API supplies only an `SseEncoder` that turns gateway
 * chunks into its frames.
 *
 * The first chunk is awaited before the status line: a failure up to then (every candidate
 * failed) is an ordinary error answer with its status code, in the route's own error shape. After
 * it the stream is committed, and a failure ends it with the encoder's in-band error frames
 * instead of its closing frames. The upstream stream lives in the request's scope: a client that
 * disconnects aborts it; past the shutdown grace the stream is cut with `server_shutting_down`.
 *
 * The body is one hand-written pull over the manager's pull (not map / concat / catchCause /
 * filter / encodeText, an Effect step each per pull): each batch of chunks becomes one string and
 * one buffer (platform-node writes each emitted array as one socket write).
 */
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { Cause, Channel, Effect, Pull, type Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { HttpServerResponse } from "effect/http"
import { type ApiError, fromLLMError, internalError, serverShuttingDown } from "../HttpError.ts"
import type { ServerContext } from "./context.ts"
import { CurrentDrain, ShuttingDown } from "./shutdown.ts"

/** One API's framing of a streamed answer. Every method returns frames ready to write ("" for none). */
export interface SseEncoder {
  /** Frames before any content (Anthropic's `message_start`, Responses' `response.created`). */
  start(): string
  /** The frames for one batch of gateway chunks. */
  chunks(batch: ReadonlyArray<StreamChunk>): string
  /** Closing frames after a normal end (`[DONE]`, `message_stop`, `response.completed`). */
  end(): string
  /** The in-band frames that end a stream which failed after its first chunk. */
  error(e: ApiError): string
}

export interface OpenedSse {
  readonly encoder: SseEncoder
  /** Response headers besides the content type and the no-cache pair (the `x-llm-*` set). */
  readonly headers: Record<string, string>
}

const sseHeaders = { "cache-control": "no-cache", "x-accel-buffering": "no" }

const utf8 = (text: string): NonEmptyReadonlyArray<Uint8Array> => [Buffer.from(text, "utf8")]

/** The error frames that end a stream after its first chunk, and the log line the operator sees. */
const errorFrames = (ctx: ServerContext, encoder: SseEncoder, cause: Cause.Cause<LLMError | ShuttingDown>): Effect.Effect<string> => {
  const failure = Cause.findErrorOption(cause)
  const e = failure._tag === "None"
    ? internalError
    : failure.value instanceof ShuttingDown
    ? serverShuttingDown
    : fromLLMError(failure.value)
  const log = failure._tag === "Some"
    ? Effect.logWarning(ctx.scrubber.scrub(`stream failed after its first chunk: ${e.status} ${e.code}: ${e.message}`))
    : Effect.logError(ctx.scrubber.scrub(`stream failed after its first chunk: ${Cause.pretty(cause)}`))
  return Effect.as(log, ctx.scrubber.scrub(encoder.error(e)))
}

type Body = Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, LLMError | ShuttingDown>

/**
 * Runs `stream` as an SSE answer. `open` sees the first chunk (`undefined` when the upstream
 * ended without one) and returns the encoder and the headers, which usually name the provider
 * and model that answered.
 */
export const sseResponse = (
  ctx: ServerContext,
  stream: Stream.Stream<StreamChunk, LLMError>,
  open: (head: StreamChunk | undefined) => OpenedSse
): Effect.Effect<HttpServerResponse.HttpServerResponse, LLMError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const pull = yield* Channel.toPullScoped(Stream.toChannel(stream), scope)
    const first: ReadonlyArray<StreamChunk> = yield* Pull.catchDone(pull, () => Effect.succeed([]))
    // after the head: a stream is committed once its status line is out, and only then cut
    const rest = yield* (yield* CurrentDrain).cuttable(pull, scope)
    const { encoder, headers } = open(first[0])
    // "first": start frames and the first batch; "end": an upstream that ended without a chunk
    // still gets the closing frames; "done": nothing more to write.
    let state: "first" | "streaming" | "end" | "done" = "first"
    // A batch may encode to nothing (the usage-only last chunk): pull on rather than emit "".
    const onPulled = {
      onSuccess: (text: string): Body => (text.length === 0 ? body : Effect.succeed(utf8(text))),
      onFailure: (cause: Cause.Cause<LLMError | ShuttingDown | Cause.Done>): Body => {
        state = "done"
        if (Pull.isDoneCause(cause)) return Effect.sync(() => utf8(encoder.end()))
        const failure = cause as Cause.Cause<LLMError | ShuttingDown>
        return Cause.hasInterruptsOnly(failure) ? Effect.failCause(failure) : Effect.map(errorFrames(ctx, encoder, failure), utf8)
      }
    }
    const body: Body = Effect.suspend(() => {
      switch (state) {
        case "first":
          state = first.length > 0 ? "streaming" : "end"
          // the encoder runs inside the match: a defect there still ends with an error frame
          return Effect.matchCauseEffect(Effect.sync(() => encoder.start() + encoder.chunks(first)), onPulled)
        case "streaming":
          return Effect.matchCauseEffect(Effect.map(rest, (batch) => encoder.chunks(batch)), onPulled)
        case "end":
          state = "done"
          return Effect.sync(() => utf8(encoder.end()))
        case "done":
          return Cause.done()
      }
    })
    return HttpServerResponse.stream(Stream.fromPull(Effect.succeed(body)), {
      contentType: "text/event-stream; charset=utf-8",
      headers: { ...sseHeaders, ...headers }
    })
  })
