/**
 * Metric updates of the router, with the labelled series of each deployment built once.
 */
import { type Context, Effect } from "effect"
import * as M from "../../metrics/GatewayMetrics.ts"
import type { Usage } from "../../domain/Domain.ts"
import { attemptsOf, type LLMError, LLMErrorTags } from "../../domain/LLMError.ts"
import type { CircuitView } from "./State.ts"

const requests = M.labelled(M.providerRequestsTotal)
const errors = M.labelled(M.providerErrorsTotal)
const latency = M.labelled(M.providerLatencyMs)
const tokens = M.labelled(M.providerTokensTotal)
const cost = M.labelled(M.costUsdTotal)
const failovers = M.labelled(M.gatewayFailoversTotal)
const rlRequests = M.labelled(M.rateLimitRequestsTotal)
const rlLimited = M.labelled(M.rateLimitLimitedTotal)
const rlBackoff = M.labelled(M.rateLimitCurrentBackoff)
const cbState = M.labelled(M.circuitBreakerState)
const cbTransitions = M.labelled(M.circuitBreakerTransitionsTotal)
const cbFailures = M.labelled(M.circuitBreakerFailuresTotal)
const cbSuccesses = M.labelled(M.circuitBreakerSuccessesTotal)
const clientRequests = M.labelled(M.clientRequestsTotal)
const clientErrors = M.labelled(M.clientErrorsTotal)

export interface Labels {
  readonly provider: string
  readonly model: string
}

/** The hot series of one deployment, built on first use (deployments are long-lived objects). */
const bundles = new WeakMap<Labels, ReturnType<typeof makeBundle>>()
const makeBundle = (d: Labels) => {
  const l = { provider: d.provider, model: d.model }
  return {
    requests: requests(l),
    latency: latency(l),
    prompt: tokens({ ...l, kind: "prompt" }),
    completion: tokens({ ...l, kind: "completion" }),
    cost: cost(l),
    cbSuccesses: cbSuccesses(l)
  }
}
const bundle = (d: Labels) => {
  let b = bundles.get(d)
  if (b === undefined) {
    b = makeBundle(d)
    bundles.set(d, b)
  }
  return b
}
const labelsOf = (d: Labels) => ({ provider: d.provider, model: d.model })
const promLabel = (c: CircuitView) => (c === "half-open" ? "half_open" : c)

/**
 * Every metric update of one event in one step: `Metric.update` per series costs a couple of
 * µs each on the hot path, `updateUnsafe` inside one `contextWith` a fraction of that.
 */
const record = (f: (context: Context.Context<never>) => void): Effect.Effect<void> =>
  // one primitive step (contextWith + sync was two)
  Effect.withFiberSucceed((fiber) => f(fiber.context))

/**
 * `…Now(context, …)`: the same updates made at once, for code already running synchronously
 * inside a step of its own (the router's fused path, ModelRouter "Generate").
 */
export const upstreamCallNow = (
  ctx: Context.Context<never>,
  d: Labels,
  outcome: { readonly ms: number; readonly error?: string | undefined }
) => {
  const b = bundle(d)
  b.requests.updateUnsafe(1, ctx)
  if (outcome.error === undefined) b.latency.updateUnsafe(outcome.ms, ctx)
  else errors({ ...labelsOf(d), error_type: outcome.error }).updateUnsafe(1, ctx)
}

export const upstreamCall = (d: Labels, outcome: { readonly ms: number; readonly error?: string | undefined }) =>
  record((ctx) => upstreamCallNow(ctx, d, outcome))

/** A failure after the call had succeeded (a stream cut mid-way): an error, not another request. */
export const upstreamError = (d: Labels, tag: string) =>
  record((ctx) => errors({ ...labelsOf(d), error_type: tag }).updateUnsafe(1, ctx))

export const usageNow = (ctx: Context.Context<never>, d: Labels, u: Usage, usd: number) => {
  const b = bundle(d)
  b.prompt.updateUnsafe(u.promptTokens, ctx)
  b.completion.updateUnsafe(u.completionTokens, ctx)
  if (usd > 0) b.cost.updateUnsafe(usd, ctx)
}

export const usage = (d: Labels, u: Usage, usd: number) => record((ctx) => usageNow(ctx, d, u, usd))

export const failover = (from: Labels) => record((ctx) => failovers(labelsOf(from)).updateUnsafe(1, ctx))

export const rateLimitCheck = (d: Labels, limitedForMs: number | undefined) =>
  record((ctx) => {
    rlRequests(labelsOf(d)).updateUnsafe(1, ctx)
    if (limitedForMs !== undefined) {
      rlLimited(labelsOf(d)).updateUnsafe(1, ctx)
      rlBackoff(labelsOf(d)).updateUnsafe(limitedForMs / 1000, ctx)
    }
  })

export const circuitOutcomeNow = (ctx: Context.Context<never>, d: Labels, failure: boolean) =>
  (failure ? cbFailures(labelsOf(d)) : bundle(d).cbSuccesses).updateUnsafe(1, ctx)

export const circuitOutcome = (d: Labels, failure: boolean) => record((ctx) => circuitOutcomeNow(ctx, d, failure))

export const circuitTransition = (d: Labels, from: CircuitView, to: CircuitView) =>
  record((ctx) => {
    cbTransitions({ ...labelsOf(d), from: promLabel(from), to: promLabel(to) }).updateUnsafe(1, ctx)
    for (const s of ["closed", "open", "half-open"] as const) {
      cbState({ ...labelsOf(d), state: promLabel(s) }).updateUnsafe(s === to ? 1 : 0, ctx)
    }
  })


/**
 * Every series of the configured deployments, present from start: an alert on
 * `llm_circuit_breaker_state` or `rate(llm_client_errors_total[5m])` must not read "no data"
 * until the first transition or error. Reading a series registers it at its zero value; the
 * circuits start closed and every deployment active. Label sets that only exist once something
 * happened (transitions `from`/`to`) stay lazy.
 */
export const initial = (deployments: ReadonlyArray<Labels>) =>
  record((ctx) => {
    for (const d of deployments) {
      const l = labelsOf(d)
      const b = bundle(d)
      for (const m of [b.requests, b.latency, b.prompt, b.completion, b.cost, b.cbSuccesses]) m.valueUnsafe(ctx)
      for (const m of [cbFailures(l), failovers(l), rlRequests(l), rlLimited(l), rlBackoff(l)]) m.valueUnsafe(ctx)
      for (const tag of LLMErrorTags) errors({ ...l, error_type: tag }).valueUnsafe(ctx)
      for (const s of ["closed", "open", "half-open"] as const) {
        cbState({ ...l, state: promLabel(s) }).updateUnsafe(s === "closed" ? 1 : 0, ctx)
      }
    }
    M.gatewayActiveProviders.updateUnsafe(deployments.length, ctx)
    for (const status of ["success", "error", "circuit_open"]) clientRequests({ status }).valueUnsafe(ctx)
    for (const tag of LLMErrorTags) clientErrors({ error_type: tag }).valueUnsafe(ctx)
    M.clientRequestDurationSeconds.valueUnsafe(ctx)
  })

export const activeDeployments = (n: number) => record((ctx) => M.gatewayActiveProviders.updateUnsafe(n, ctx))

/** The series every successful request counts in, looked up once (a lookup builds its key string). */
let clientSuccesses: ReturnType<typeof clientRequests> | undefined

export const clientRequestNow = (
  ctx: Context.Context<never>,
  seconds: number,
  status: "success" | "error" | "circuit_open",
  errorTag?: string
) => {
  const series = status === "success" ? (clientSuccesses ??= clientRequests({ status })) : clientRequests({ status })
  series.updateUnsafe(1, ctx)
  M.clientRequestDurationSeconds.updateUnsafe(seconds, ctx)
  if (errorTag !== undefined) clientErrors({ error_type: errorTag }).updateUnsafe(1, ctx)
}

export const clientRequest = (seconds: number, status: "success" | "error" | "circuit_open", errorTag?: string) =>
  record((ctx) => clientRequestNow(ctx, seconds, status, errorTag))

/** A request that failed: `circuit_open` when every attempt found its circuit open, else `error`. */
export const clientFailed = (seconds: number, error: LLMError) => {
  const attempts = attemptsOf(error) ?? []
  const onlyOpen = attempts.length > 0 && attempts.every((a) => a.outcome === "skipped:CircuitOpen")
  return clientRequest(seconds, onlyOpen ? "circuit_open" : "error", error._tag)
}
