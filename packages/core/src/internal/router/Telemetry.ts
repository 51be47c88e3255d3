/**
 * Metric updates of the router, with the labelled series of each deployment built once.
 */
import { Effect, Metric } from "effect"
import * as M from "../../GatewayMetrics.ts"
import type { Usage } from "../../Domain.ts"
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

const labelsOf = (d: Labels) => ({ provider: d.provider, model: d.model })
const promLabel = (c: CircuitView) => (c === "half-open" ? "half_open" : c)

export const upstreamCall = (d: Labels, outcome: { readonly ms: number; readonly error?: string | undefined }) =>
  Effect.all([
    Metric.update(requests(labelsOf(d)), 1),
    outcome.error === undefined
      ? Metric.update(latency(labelsOf(d)), outcome.ms)
      : Metric.update(errors({ ...labelsOf(d), error_type: outcome.error }), 1)
  ], { discard: true })

/** A failure after the call had succeeded (a stream cut mid-way): an error, not another request. */
export const upstreamError = (d: Labels, tag: string) => Metric.update(errors({ ...labelsOf(d), error_type: tag }), 1)

export const usage = (d: Labels, u: Usage, usd: number) =>
  Effect.all([
    Metric.update(tokens({ ...labelsOf(d), kind: "prompt" }), u.promptTokens),
    Metric.update(tokens({ ...labelsOf(d), kind: "completion" }), u.completionTokens),
    usd > 0 ? Metric.update(cost(labelsOf(d)), usd) : Effect.void
  ], { discard: true })

export const failover = (from: Labels) => Metric.update(failovers(labelsOf(from)), 1)

export const rateLimitCheck = (d: Labels, limitedForMs: number | undefined) =>
  Effect.all([
    Metric.update(rlRequests(labelsOf(d)), 1),
    limitedForMs === undefined ? Effect.void : Metric.update(rlLimited(labelsOf(d)), 1),
    limitedForMs === undefined ? Effect.void : Metric.update(rlBackoff(labelsOf(d)), limitedForMs / 1000)
  ], { discard: true })

export const circuitOutcome = (d: Labels, failure: boolean) =>
  Metric.update(failure ? cbFailures(labelsOf(d)) : cbSuccesses(labelsOf(d)), 1)

export const circuitTransition = (d: Labels, from: CircuitView, to: CircuitView) =>
  Effect.all([
    Metric.update(cbTransitions({ ...labelsOf(d), from: promLabel(from), to: promLabel(to) }), 1),
    ...(["closed", "open", "half-open"] as const).map((s) =>
      Metric.update(cbState({ ...labelsOf(d), state: promLabel(s) }), s === to ? 1 : 0)
    )
  ], { discard: true })

export const activeDeployments = (n: number) => Metric.update(M.gatewayActiveProviders, n)

export const clientRequest = (seconds: number, status: "success" | "error" | "circuit_open", errorTag?: string) =>
  Effect.all([
    Metric.update(clientRequests({ status }), 1),
    Metric.update(M.clientRequestDurationSeconds, seconds),
    errorTag === undefined ? Effect.void : Metric.update(clientErrors({ error_type: errorTag }), 1)
  ], { discard: true })
