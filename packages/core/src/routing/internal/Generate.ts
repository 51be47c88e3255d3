/**
 * `ModelRouter.generate`: a plan run through the chain (Executor), with a fused way for the
 * usual request. Most requests are answered by their plan's first candidate at the first
 * attempt, with no rate limit on it and its circuit closed with nothing to count; for those the
 * chain's generator (a deadline check, a limiter round, the breaker's pass, a dozen metric and
 * clock steps) was 109 k of a generate's 398 k instructions in process; fused, the router's
 * share is 40 k (notes/benchmarks.md, "Issue 19, fifth session"). So such a request makes that
 * one attempt here, in one step around the client's call, and records its success with the
 * functions the chain uses (`fusedSucceeded`: the breaker's direct pass and `attemptSucceeded`;
 * the `…Now` metrics). Anything else goes to the chain, and so does a failure of that attempt:
 * the chain takes it as its first attempt (`ChainOptions.first`) and judges it as it judges every
 * other, so retry, fallback and the error a caller sees follow one set of rules and are covered
 * by one set of tests.
 */
import { Clock, Effect, Exit, type Fiber } from "effect"
import type { Attempt, LLMRequest, ProviderResponse, Usage } from "../../domain/Domain.ts"
import { requestMessages } from "../../domain/Domain.ts"
import type { LLMError } from "../../domain/LLMError.ts"
import { isTracing } from "../../metrics/GenAiSpans.ts"
import type { ModelClientShape } from "../../providers/ModelClient.ts"
import type { ModelClientsShape } from "../../providers/ModelClients.ts"
import type { PassthroughRequest } from "../../providers/Passthrough.ts"
import { costOfUsage } from "../../accounting/Pricing.ts"
import type { Deployment } from "./Deployments.ts"
import { type ChainContext, type FirstAttempt, fusedBudget, fusedSucceeded, runChain } from "./Executor.ts"
import { type Admitted, fieldsFor, ignoredOf } from "./Fields.ts"
import { passedOver, type RoutePlan } from "./Planner.ts"
import { providerRequest, requestedOf } from "./RequestPlan.ts"
import { attemptSpan, upstreamSpan } from "./Spans.ts"
import * as Telemetry from "./Telemetry.ts"

/** A provider's answer plus what the router did to get it. */
export interface RoutedResponse extends ProviderResponse {
  readonly provider: string
  /**
   * `model` is the model id as configured (what a caller can ask for again, what prices and
   * accounting key on — not an upstream's dated snapshot name); `ref` is `provider/model`.
   */
  readonly ref: string
  readonly attempts: ReadonlyArray<Attempt>
  /** Total time in the router: every attempt and backoff. */
  readonly latencyMs: number
  /** Time inside the winning client call (`latencyMs − upstreamMs` is the gateway's overhead). */
  readonly upstreamMs: number
  readonly costUsd: number
  /** `extra` fields the answering provider ignored (the field rule, RequestFields). */
  readonly ignoredFields?: ReadonlyArray<string> | undefined
}

/** A request's committed plan and the candidates the field rule admitted. */
export interface Prepared {
  readonly p: RoutePlan
  readonly admitted: Admitted
}

export interface GenerateParts {
  readonly ctx: ChainContext
  readonly clients: ModelClientsShape
  /** Provides the chain's random source (its backoff jitter). */
  readonly withRandom: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The client-request metrics of a request that ended at `t` (failed when `error` is given). */
  readonly finishedAt: (startedAt: number, t: number, error?: LLMError) => Effect.Effect<void>
  /** Plans (or commits `given`) and admits, at `now`: synchronous, no step. */
  readonly prepare: (req: LLMRequest, given: RoutePlan | undefined, now: number) => Prepared | LLMError
  /** The client an attempt on `d` calls (its pass-through face for a native request). */
  readonly attemptClient: (d: Deployment, passthrough: PassthroughRequest | undefined) => Effect.Effect<ModelClientShape, LLMError>
  /** Counts the usage and charges the tokens the estimate missed (Effect: a tpm charge is a store round). */
  readonly settle: (d: Deployment, usage: Usage, promptEstimate: number, costUsd: number) => Effect.Effect<void>
  /** `d`'s client bounds its own calls (`ModelClientShape.enforcesTimeout`): no race in the chain. */
  readonly timesItself: (d: Deployment) => boolean
}

const clientSeconds = (startedAt: number, end: number) => (end - startedAt) / 1000

export const makeGenerate = (parts: GenerateParts) => {
  const { clients, ctx } = parts
  const { finishedAt, withRandom } = parts
  const failed = (startedAt: number, e: LLMError) =>
    Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (end) => finishedAt(startedAt, end, e))

  const answer = (
    { admitted }: Prepared,
    d: Deployment,
    response: ProviderResponse,
    route: { readonly attempts: RoutedResponse["attempts"]; readonly upstreamMs: number; readonly latencyMs: number; readonly costUsd: number }
  ): RoutedResponse => ({
    ...response,
    provider: d.provider,
    model: d.model,
    ref: d.ref,
    attempts: route.attempts,
    latencyMs: route.latencyMs,
    upstreamMs: route.upstreamMs,
    costUsd: route.costUsd,
    ignoredFields: ignoredOf(admitted.decisions?.get(d.ref))
  })

  const request = (req: LLMRequest, { admitted }: Prepared, d: Deployment, client: ModelClientShape) =>
    providerRequest(req, requestMessages(req), d, fieldsFor(req, admitted.decisions?.get(d.ref), client))

  /** The chain's way: every candidate, limit, retry and breaker rule (Executor). */
  const chained = Effect.fnUntraced(function*(
    req: LLMRequest,
    prep: Prepared,
    startedAt: number,
    passthrough: PassthroughRequest | undefined,
    first?: FirstAttempt<ProviderResponse>
  ) {
    const { admitted, p } = prep
    const result = yield* runChain(ctx, {
      candidates: admitted.candidates,
      startedAt,
      tokens: p.promptTokens,
      requested: requestedOf(req),
      passedOver: (d) => passedOver(p, d.ref),
      first,
      call: (d, timeoutMs) => {
        const call = (client: ModelClientShape) =>
          client.generate(client.enforcesTimeout === true ? { ...request(req, prep, d, client), timeoutMs } : request(req, prep, d, client))
        // the usual case, a client of our own answering the gateway's request, without a step to look it up
        const own = passthrough === undefined ? clients.get(d.provider) : undefined
        return own !== undefined ? call(own) : Effect.flatMap(parts.attemptClient(d, passthrough), call)
      },
      selfTimed: parts.timesItself
    }).pipe(Effect.tapError((e) => failed(startedAt, e)))
    const d = result.deployment
    const costUsd = costOfUsage(d.entry, result.value.usage)
    yield* parts.settle(d, result.value.usage, p.promptTokens, costUsd)
    const end = yield* Effect.clockWith((c) => c.currentTimeMillis)
    yield* finishedAt(startedAt, end)
    return answer(prep, d, result.value, { attempts: result.attempts, upstreamMs: result.upstreamMs, latencyMs: end - startedAt, costUsd })
  })

  /** A client of our own that bounds its own call (no timeout race here), or undefined. */
  const selfTimedClient = (d: Deployment, passthrough: PassthroughRequest | undefined) => {
    const client = passthrough === undefined ? clients.get(d.provider) : undefined
    return client?.enforcesTimeout === true ? client : undefined
  }

  const run = (fiber: Fiber.Fiber<unknown, unknown>, req: LLMRequest, given: RoutePlan | undefined, passthrough: PassthroughRequest | undefined) => {
    const clock = fiber.getRef(Clock.Clock)
    const startedAt = clock.currentTimeMillisUnsafe()
    const prep = parts.prepare(req, given, startedAt)
    if (!("admitted" in prep)) return Effect.andThen(failed(startedAt, prep), Effect.fail(prep))
    const d = prep.admitted.candidates[0]
    const t0 = clock.currentTimeMillisUnsafe()
    const timeoutMs = fusedBudget(ctx, d, startedAt, t0)
    const client = timeoutMs === undefined ? undefined : selfTimedClient(d, passthrough)
    if (client === undefined) return withRandom(chained(req, prep, startedAt, passthrough))
    const tracing = isTracing(fiber)
    const call = client.generate({ ...request(req, prep, d, client), timeoutMs: timeoutMs! })
    return Effect.flatMap(Effect.exit(tracing ? attemptSpan(d, 1, upstreamSpan(d, "chat", call)) : call), (exit) => {
      if (!Exit.isSuccess(exit)) return withRandom(chained(req, prep, startedAt, passthrough, { exit, startedAt: t0 }))
      // the success, recorded as the breaker and the chain record it, then as `chained` ends
      const t1 = clock.currentTimeMillisUnsafe()
      const context = fiber.context
      const attempts = fusedSucceeded(context, ctx, d, t1 - t0, (x) => passedOver(prep.p, x.ref))
      const response = exit.value
      const costUsd = costOfUsage(d.entry, response.usage)
      // `settle` without its tpm charge: a fused attempt's deployment has no tpm
      Telemetry.usageNow(context, d, response.usage, costUsd)
      const end = clock.currentTimeMillisUnsafe()
      Telemetry.clientRequestNow(context, clientSeconds(startedAt, end), "success")
      return Effect.succeed(answer(prep, d, response, { attempts, upstreamMs: t1 - t0, latencyMs: end - startedAt, costUsd }))
    })
  }

  // a span only while the tracer is on (GenAiSpans.spanned, in the same step as the fiber read)
  return (req: LLMRequest, given?: RoutePlan, passthrough?: PassthroughRequest): Effect.Effect<RoutedResponse, LLMError> =>
    Effect.withFiber((fiber) =>
      isTracing(fiber)
        ? Effect.withSpan(Effect.withFiber((inner) => run(inner, req, given, passthrough)), "ModelRouter.generate", { captureStackTrace: false })
        : run(fiber, req, given, passthrough)
    )
}
