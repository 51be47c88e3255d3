/**
 * A streamed answer for code that does not use Effect: a UI loop (`for await`) or a web
 * `ReadableStream` (a `Response` body, a fetch handler). Cancelling either (breaking out of the
 * loop, `reader.cancel()`) interrupts the stream, which aborts the upstream request.
 */
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { Stream } from "effect"

/** `for await (const chunk of toAsyncIterable(manager.generateStream(req)))`; a failure is thrown. */
export const toAsyncIterable = (stream: Stream.Stream<StreamChunk, LLMError>): AsyncIterable<StreamChunk> =>
  Stream.toAsyncIterable(stream)

/** The chunks as a web `ReadableStream`; a failure errors the stream with the LLMError. */
export const toReadableStream = (stream: Stream.Stream<StreamChunk, LLMError>): ReadableStream<StreamChunk> =>
  Stream.toReadableStream(stream)

/** Only the text, as a `ReadableStream<string>` (pipe it through a `TextEncoderStream` for bytes). */
export const toTextStream = (stream: Stream.Stream<StreamChunk, LLMError>): ReadableStream<string> =>
  Stream.toReadableStream(Stream.filter(Stream.map(stream, (c) => c.delta), (delta) => delta.length > 0))
