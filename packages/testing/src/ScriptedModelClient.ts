/**
 * A `ModelClientShape` that replays a script: each call takes the next scripted outcome (an
 * answer, a stream of chunks, an error, a hang) and is recorded with the Clock time it arrived.
 * For policy tests of the router and its consumers, where TestClock drives time; the provider
 * packages are tested against loopback fakes instead.
 *
 * ```ts
 * const a = makeScriptedClient({ provider: "a", script: [Scripted.fail(new NetworkError(...)), Scripted.ok("hi")] })
 * ModelClients.layerFrom([a.client])
 * a.calls // [{ method: "generate", model, at, request }, …]
 * ```
 */
import { Effect, Stream } from "effect"
import type {
  EmbeddingRequest,
  EmbeddingResponse,
  FinishReason,
  HealthStatus,
  ProviderRequest,
  ProviderResponse,
  StreamChunk,
  Usage
} from "@llm-gateway/core/domain/Domain"
import { makeUsage } from "@llm-gateway/core/domain/Domain"
import { type LLMError, TimeoutError } from "@llm-gateway/core/domain/LLMError"
import type { ModelClientShape } from "@llm-gateway/core/providers/ModelClient"

export type Scripted =
  | {
    readonly kind: "ok"
    /** Defaults to `<provider>/<model>`, so a test sees who answered. */
    readonly content?: string | undefined
    readonly usage?: Usage | undefined
    readonly finishReason?: FinishReason | undefined
    readonly delayMs?: number | undefined
  }
  | {
    readonly kind: "chunks"
    readonly chunks: ReadonlyArray<string>
    readonly usage?: Usage | undefined
    /** Wait before the first chunk, and between chunks. */
    readonly delayMs?: number | undefined
    readonly chunkDelayMs?: number | undefined
    /** Fail with this after the chunks (a stream cut mid-way); no usage chunk then. */
    readonly failWith?: LLMError | undefined
    /** End after the chunks without the usage chunk (an upstream that reports none). */
    readonly noUsage?: boolean | undefined
  }
  | { readonly kind: "error"; readonly error: LLMError; readonly delayMs?: number | undefined }
  | { readonly kind: "hang" }

export const Scripted = {
  ok: (content?: string, options: { usage?: Usage; finishReason?: FinishReason; delayMs?: number } = {}): Scripted => ({
    kind: "ok",
    content,
    ...options
  }),
  chunks: (
    chunks: ReadonlyArray<string>,
    options: { usage?: Usage; delayMs?: number; chunkDelayMs?: number; failWith?: LLMError; noUsage?: boolean } = {}
  ): Scripted => ({ kind: "chunks", chunks, ...options }),
  fail: (error: LLMError, delayMs?: number): Scripted => ({ kind: "error", error, delayMs }),
  hang: { kind: "hang" } as Scripted
}

export interface ScriptedCall {
  readonly method: "generate" | "stream" | "embed"
  readonly model: string
  /** Clock time (TestClock in `it.effect`) when the call arrived. */
  readonly at: number
  readonly request: ProviderRequest | EmbeddingRequest
  /** 0-based index of this call among this client's calls. */
  readonly index: number
}

export interface ScriptedClientOptions {
  readonly provider: string
  readonly type?: string | undefined
  /**
   * Outcomes in call order (the last one repeats when the list runs out; an empty list answers
   * ok), or a function of the call.
   */
  readonly script?: ReadonlyArray<Scripted> | ((call: ScriptedCall) => Scripted) | undefined
  readonly health?: HealthStatus | undefined
  /** Embedding dimension for `embed` (default 3). */
  readonly dimensions?: number | undefined
  /**
   * The client bounds a `generate` by the request's `timeoutMs` itself, and a `stream` by
   * `timeoutMs` to its first batch and `stallTimeoutMs` between batches, as the OpenAI client's
   * direct transport does (`ModelClientShape.enforcesTimeout`): the router then races no timer of
   * its own and may take its fused path (routing/internal/Generate).
   */
  readonly enforcesTimeout?: boolean | undefined
}

export interface ScriptedClient {
  readonly client: ModelClientShape
  readonly calls: ReadonlyArray<ScriptedCall>
  readonly callsFor: (model: string) => ReadonlyArray<ScriptedCall>
  /** Calls whose work started and was interrupted before finishing (timeouts, cancellations). */
  readonly interrupted: () => number
}

const defaultUsage = makeUsage(10, 5)

export const makeScriptedClient = (options: ScriptedClientOptions): ScriptedClient => {
  const calls: Array<ScriptedCall> = []
  let interrupted = 0
  const script = options.script ?? []
  const next = (call: ScriptedCall): Scripted => {
    if (typeof script === "function") return script(call)
    if (script.length === 0) return Scripted.ok()
    return script[Math.min(call.index, script.length - 1)]
  }
  const record = (method: ScriptedCall["method"], request: ProviderRequest | EmbeddingRequest) =>
    Effect.clockWith((clock) =>
      Effect.sync(() => {
        const call: ScriptedCall = { method, model: request.model, at: clock.currentTimeMillisUnsafe(), request, index: calls.length }
        calls.push(call)
        return next(call)
      })
    )
  const tracked = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.onInterrupt(effect, () => Effect.sync(() => void interrupted++))
  const delay = (ms: number | undefined) => (ms !== undefined && ms > 0 ? Effect.sleep(ms) : Effect.void)
  const contentOf = (s: Scripted, model: string) =>
    s.kind === "ok" ? s.content ?? `${options.provider}/${model}` : s.kind === "chunks" ? s.chunks.join("") : ""

  const selfTimed = (req: ProviderRequest, call: Effect.Effect<ProviderResponse, LLMError>) =>
    options.enforcesTimeout !== true || req.timeoutMs === undefined ? call : Effect.timeoutOrElse(call, {
      duration: req.timeoutMs,
      orElse: () =>
        Effect.fail(new TimeoutError({ model: `${options.provider}/${req.model}`, timeoutMs: req.timeoutMs!, message: `no answer within ${req.timeoutMs} ms` }))
    })

  const generate = (req: ProviderRequest): Effect.Effect<ProviderResponse, LLMError> =>
    selfTimed(req, generateUntimed(req))

  const generateUntimed = (req: ProviderRequest): Effect.Effect<ProviderResponse, LLMError> =>
    Effect.flatMap(record("generate", req), (s) =>
      tracked(
        Effect.gen(function*() {
          switch (s.kind) {
            case "hang":
              return yield* Effect.never
            case "error":
              yield* delay(s.delayMs)
              return yield* Effect.fail(s.error)
            case "chunks":
              yield* delay(s.delayMs)
              if (s.failWith !== undefined) return yield* Effect.fail(s.failWith)
              return { content: contentOf(s, req.model), model: req.model, usage: s.usage ?? defaultUsage, finishReason: "stop" as const }
            case "ok":
              yield* delay(s.delayMs)
              return {
                content: contentOf(s, req.model),
                model: req.model,
                usage: s.usage ?? defaultUsage,
                finishReason: s.finishReason ?? "stop"
              }
          }
        })
      ))

  /** `stream`'s pulls bounded as the OpenAI direct transport bounds them (with the Clock, for TestClock). */
  const selfTimedStream = (req: ProviderRequest, s: Stream.Stream<StreamChunk, LLMError>): Stream.Stream<StreamChunk, LLMError> => {
    if (options.enforcesTimeout !== true || (req.timeoutMs === undefined && req.stallTimeoutMs === undefined)) return s
    const model = `${options.provider}/${req.model}`
    return Stream.transformPull(s, (pull) =>
      Effect.sync(() => {
        let delivered = false
        const markDelivered = Effect.sync(() => {
          delivered = true
        })
        return Effect.suspend(() => {
          const ms = delivered ? req.stallTimeoutMs : req.timeoutMs
          const bounded = ms === undefined ? pull : Effect.timeoutOrElse(pull, {
            duration: ms,
            orElse: () =>
              Effect.fail(new TimeoutError({ model, timeoutMs: ms, message: delivered ? `stream stalled for ${ms} ms` : `no answer within ${ms} ms` }))
          })
          return Effect.tap(bounded, () => markDelivered)
        })
      }))
  }

  const stream = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> => selfTimedStream(req, streamUntimed(req))

  const streamUntimed = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(Effect.map(record("stream", req), (s): Stream.Stream<StreamChunk, LLMError> => {
      switch (s.kind) {
        case "hang":
          return Stream.fromEffect(tracked(Effect.never))
        case "error":
          return Stream.fromEffect(Effect.andThen(delay(s.delayMs), Effect.fail(s.error)))
        case "ok":
          return Stream.fromEffect(delay(s.delayMs)).pipe(
            Stream.drain,
            Stream.concat(Stream.make(
              { delta: contentOf(s, req.model) },
              { delta: "", usage: s.usage ?? defaultUsage, finishReason: s.finishReason ?? "stop" }
            ))
          )
        case "chunks": {
          const body = Stream.fromIterable(s.chunks).pipe(
            Stream.mapEffect((delta, i) => Effect.as(delay(i === 0 ? s.delayMs : s.chunkDelayMs), { delta }))
          )
          const end: Stream.Stream<StreamChunk, LLMError> = s.failWith !== undefined
            ? Stream.fail(s.failWith)
            : s.noUsage === true
            ? Stream.empty
            : Stream.make({ delta: "", usage: s.usage ?? defaultUsage, finishReason: "stop" as const })
          return Stream.concat(body, end)
        }
      }
    }))

  const embed = (req: EmbeddingRequest): Effect.Effect<EmbeddingResponse, LLMError> =>
    Effect.flatMap(record("embed", req), (s) =>
      tracked(Effect.gen(function*() {
        if (s.kind === "hang") return yield* Effect.never
        yield* delay(s.delayMs)
        if (s.kind === "error") return yield* Effect.fail(s.error)
        const dims = options.dimensions ?? 3
        return {
          model: req.model,
          embeddings: req.input.map((text) => Array.from({ length: dims }, (_, i) => (text.length + i) / (dims + 1))),
          usage: makeUsage(req.input.reduce((a, t) => a + Math.ceil(t.length / 4), 0), 0)
        }
      })))

  return {
    client: {
      provider: options.provider,
      type: options.type ?? "openai-compatible",
      generate,
      stream,
      embed,
      ...(options.enforcesTimeout === true ? { enforcesTimeout: true } : {}),
      health: Effect.succeed(options.health ?? { healthy: true, latencyMs: 0 })
    },
    calls,
    callsFor: (model) => calls.filter((c) => c.model === model),
    interrupted: () => interrupted
  }
}
