/**
 * OpenTelemetry GenAI semantic-convention attributes on the gateway's spans
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/), and the W3C `traceparent` a provider
 * client sends upstream. The server's tracer is off unless an exporter is configured (its
 * Tracing layer), and a library caller's records nothing until it installs a tracer of its own;
 * either way every helper here costs two reference reads and records nothing.
 */
import { Context, Effect, type Fiber, References, Tracer } from "effect"

/** `gen_ai.provider.name`: the convention's well-known values where there is one, else the type. */
export const providerName = (type: string): string => {
  switch (type) {
    case "azure-openai":
      return "azure.ai.openai"
    case "gemini":
      return "gcp.gemini"
    default:
      return type
  }
}

/**
 * Whether the gateway records spans: the tracer is on and a tracing backend is installed. With
 * Effect's default `nativeTracer` (a library caller who configured none) spans are made in memory
 * and never exported, so the request path skips them as it does with the tracer off: ~130 k
 * instructions of a library `generate` (notes/benchmarks.md "Issue 19, ninth session"). A caller's
 * own span still reaches the upstream as `traceparent` (traceparentOf).
 */
export const isTracing = (fiber: Fiber.Fiber<unknown, unknown>): boolean =>
  fiber.getRef(References.TracerEnabled) && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer

/**
 * `Effect.fn(name)` for the request path: `f` (an `Effect.fnUntraced` body) runs inside a span
 * named `name` while the tracer is on, and bare otherwise. A traced `Effect.fn` costs ~3.3 µs
 * a call even with the tracer off (it prepares its span and call-site every time); this costs
 * one reference read (notes/benchmarks.md "Issue 19"). The span carries no call-site stack.
 */
export const spanned = <Args extends ReadonlyArray<any>, A, E, R>(
  name: string,
  f: (...args: Args) => Effect.Effect<A, E, R>
) =>
(...args: Args): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => (isTracing(fiber) ? Effect.withSpan(f(...args), name, { captureStackTrace: false }) : f(...args)))

/** The fiber's current span as a `traceparent` header value; undefined when tracing is off. */
export const traceparentOf = (fiber: Fiber.Fiber<unknown, unknown>): string | undefined => {
  if (!fiber.getRef(References.TracerEnabled)) return undefined
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  if (span === undefined) return undefined
  return `00-${span.traceId.padStart(32, "0")}-${span.spanId}-${span.sampled ? "01" : "00"}`
}

/** What the request asked for, as `gen_ai.request.*`. */
export interface RequestLike {
  readonly model?: string | undefined
  readonly maxTokens?: number | undefined
  readonly temperature?: number | undefined
  readonly topP?: number | undefined
}

/** What came back, read for `gen_ai.response.*` and `gen_ai.usage.*` (any of it may be missing). */
export interface ResponseLike {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly usage?: { readonly promptTokens: number; readonly completionTokens: number } | undefined
  readonly finishReason?: string | undefined
  readonly cached?: boolean | undefined
}

export const requestAttributes = (
  operation: "chat" | "embeddings",
  req: RequestLike
): Record<string, unknown> => {
  const out: Record<string, unknown> = { "gen_ai.operation.name": operation }
  if (req.model !== undefined) out["gen_ai.request.model"] = req.model
  if (req.maxTokens !== undefined) out["gen_ai.request.max_tokens"] = req.maxTokens
  if (req.temperature !== undefined) out["gen_ai.request.temperature"] = req.temperature
  if (req.topP !== undefined) out["gen_ai.request.top_p"] = req.topP
  return out
}

export const annotateResponse = (span: Tracer.Span, r: ResponseLike): void => {
  if (!span.sampled) return
  if (r.model !== undefined) span.attribute("gen_ai.response.model", r.model)
  if (r.usage !== undefined) {
    span.attribute("gen_ai.usage.input_tokens", r.usage.promptTokens)
    span.attribute("gen_ai.usage.output_tokens", r.usage.completionTokens)
  }
  if (r.finishReason !== undefined) span.attribute("gen_ai.response.finish_reasons", [r.finishReason])
  if (r.cached !== undefined) span.attribute("llm_gateway.cached", r.cached)
}

/**
 * Annotates the current span (an `Effect.fn` span such as `LLMManager.generate`) with the
 * request and, on success, the response. With tracing off: the effect itself, nothing else.
 */
export const annotated = <A extends ResponseLike, E, R>(
  operation: "chat" | "embeddings",
  /** Called only when the span records (no allocation per request with tracing off). */
  req: () => RequestLike,
  providerOf: (a: A) => string | undefined,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    if (!isTracing(fiber)) return effect
    const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    if (span === undefined || span._tag !== "Span" || !span.sampled) return effect
    const attributes = requestAttributes(operation, req())
    for (const k in attributes) span.attribute(k, attributes[k])
    return Effect.tap(effect, (a) =>
      Effect.sync(() => {
        const provider = providerOf(a)
        if (provider !== undefined) span.attribute("gen_ai.provider.name", provider)
        annotateResponse(span, a)
      }))
  })

/** `traceparentOf` the current fiber, as an effect (for code inside `Effect.gen`). */
export const currentTraceparent: Effect.Effect<string | undefined> = Effect.withFiber((fiber) =>
  Effect.succeed(traceparentOf(fiber))
)

/** SDK request options carrying the trace context (none when tracing is off). */
export const traceHeaders = (traceparent: string | undefined): { readonly headers?: Record<string, string> } =>
  traceparent === undefined ? {} : { headers: { traceparent } }

/** Response attributes on the span effects run under (a `Stream.withSpan` span, say). */
export const annotateParentSpan = (provider: string | undefined, r: ResponseLike): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    if (span !== undefined && span._tag === "Span" && span.sampled) {
      if (provider !== undefined) span.attribute("gen_ai.provider.name", provider)
      annotateResponse(span, r)
    }
    return Effect.void
  })
