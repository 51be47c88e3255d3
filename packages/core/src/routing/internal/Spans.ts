/**
 * The router's spans, created only while the tracer is on (the server turns it on with an OTLP
 * exporter): `ModelRouter.attempt` around each attempt (breaker and rate limit included), and
 * inside it the upstream call, a client span named `{operation} {model}` as the GenAI
 * semantic conventions name it. A provider client sends that span as the upstream request's
 * `traceparent` (GenAiSpans.traceparentOf). For a stream, the upstream span covers opening the
 * stream up to its first chunk; the rest streams under the request's span.
 */
import { Effect } from "effect"
import { annotateResponse, providerName, type ResponseLike } from "../../metrics/GenAiSpans.ts"
import type { Deployment } from "./Deployments.ts"

export type Operation = "chat" | "embeddings"

export const attemptSpan = <A, E, R>(d: Deployment, attempt: number, effect: Effect.Effect<A, E, R>) =>
  Effect.withSpan(effect, "ModelRouter.attempt", {
    // a stack trace per span is a `new Error()` per attempt: the span's name and attributes say where
    captureStackTrace: false,
    attributes: {
      "llm_gateway.model_ref": d.ref,
      "llm_gateway.attempt": attempt,
      "gen_ai.provider.name": providerName(d.providerType),
      "gen_ai.request.model": d.model
    }
  })

export const upstreamSpan = <A, E, R>(d: Deployment, operation: Operation, effect: Effect.Effect<A, E, R>) =>
  Effect.useSpan(
    `${operation} ${d.model}`,
    {
      kind: "client",
      attributes: {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": providerName(d.providerType),
        "gen_ai.request.model": d.model,
        "llm_gateway.provider": d.provider
      }
    },
    (span) =>
      Effect.withParentSpan(
        Effect.tap(effect, (a) => Effect.sync(() => annotateResponse(span, a as ResponseLike))),
        span,
        // no `new Error()` per call for a call-site frame: the span's name says where
        { captureStackTrace: false }
      )
  )
