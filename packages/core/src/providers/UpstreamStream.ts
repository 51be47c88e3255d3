/**
 * A streamed upstream call through a provider SDK, the same way for every provider: the request
 * gets its own `AbortController`, tied to the stream's scope — however the stream ends (done,
 * failed, interrupted, the consumer stopped early) the request is aborted and its socket released;
 * a pending read would not let the SDK iterator's `return()` run — and the trace context rides
 * along when tracing is on. Opening and reading failures go through the provider's error table.
 */
import { Effect, Stream } from "effect"
import type { LLMError } from "../domain/LLMError.ts"
import { currentTraceparent } from "../metrics/GenAiSpans.ts"

export const upstreamStream = <S, A>(options: {
  /** Starts the request: the SDK call with this signal and trace context. */
  readonly open: (signal: AbortSignal, traceparent: string | undefined) => Promise<S>
  /** The upstream's events as the gateway's chunks. */
  readonly chunks: (source: S) => AsyncIterable<A>
  readonly toError: (error: unknown) => LLMError
  /** The span around opening the request. */
  readonly span: string
}): Stream.Stream<A, LLMError> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (c) => Effect.sync(() => c.abort())
      )
      const traceparent = yield* currentTraceparent
      const source = yield* Effect.tryPromise({ try: () => options.open(controller.signal, traceparent), catch: options.toError })
      return Stream.fromAsyncIterable(options.chunks(source), options.toError)
    }).pipe(Effect.withSpan(options.span))
  )
