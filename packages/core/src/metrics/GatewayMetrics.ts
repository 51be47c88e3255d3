/**
 * The gateway's Prometheus metrics, named as in the seeds (002: `llm_client_*`,
 * `llm_circuit_breaker_*`; 004: `llm_provider_*`, `llm_rate_limit_*`, `llm_gateway_*`,
 * `llm_cache_*`). Series carry `provider` and `model` labels (the configured provider name and
 * the provider's model id), so the number of series is bounded by the config — and capped by
 * `labelled` in any case (an `other` series past `MAX_SERIES`).
 *
 * The router updates the provider, rate-limit, breaker, failover and cost metrics; the cache
 * updates the cache ones; `GET /metrics` renders them all with `PrometheusMetrics`.
 */
import { Metric } from "effect"

/**
 * How to build each metric again with fixed attributes. `Metric.withAttributes` merges its
 * attributes into a fresh object on every update, so the series key is recomputed each time
 * (a visible share of a request's CPU at full load: notes/benchmarks.md); a metric built with its attributes computes it once.
 */
const rebuild = new WeakMap<object, (attributes: Readonly<Record<string, string>>) => unknown>()
const remember = <M extends object>(make: (attributes?: Readonly<Record<string, string>>) => M): M => {
  const metric = make()
  rebuild.set(metric, make)
  return metric
}
const counter = (name: string, options: { readonly description?: string; readonly incremental?: boolean } = {}) =>
  remember((attributes) => Metric.counter(name, { ...options, attributes }))
const gauge = (name: string, options: { readonly description?: string } = {}) =>
  remember((attributes) => Metric.gauge(name, { ...options, attributes }))
const histogram = (name: string, options: { readonly description?: string; readonly boundaries: ReadonlyArray<number> }) =>
  remember((attributes) => Metric.histogram(name, { ...options, attributes }))

const ms = Metric.exponentialBoundaries({ start: 5, factor: 2, count: 14 }) // 5 ms … ~41 s
const seconds = Metric.exponentialBoundaries({ start: 0.005, factor: 2, count: 14 })

// ---- per upstream call (names and labels: notes/http-api.md "GET /metrics") ----
export const providerRequestsTotal = counter("llm_provider_requests_total", {
  description: "Calls sent to an upstream model (every attempt, retries included)",
  incremental: true
})
export const providerErrorsTotal = counter("llm_provider_errors_total", {
  description: "Upstream calls that failed, by LLMError tag (error_type)",
  incremental: true
})
export const providerLatencyMs = histogram("llm_provider_latency_ms", {
  description: "Duration of successful upstream calls in milliseconds (to the first chunk for streams)",
  boundaries: ms
})
export const providerTokensTotal = counter("llm_provider_tokens_total", {
  description: "Tokens reported by upstreams, by kind (prompt | completion)",
  incremental: true
})
export const costUsdTotal = counter("llm_cost_usd_total", {
  description: "Estimated spend in USD from configured model prices",
  incremental: true
})

// ---- routing ----
export const gatewayFailoversTotal = counter("llm_gateway_failovers_total", {
  description: "Times a request moved on from a model (labels: the model it left) to the next candidate",
  incremental: true
})
export const gatewayActiveProviders = gauge("llm_gateway_active_providers", {
  description: "Model deployments whose circuit is not open"
})

// ---- rate limiting ----
export const rateLimitRequestsTotal = counter("llm_rate_limit_requests_total", {
  description: "Admission checks against the configured rpm / tpm",
  incremental: true
})
export const rateLimitLimitedTotal = counter("llm_rate_limit_limited_total", {
  description: "Admission checks refused because rpm or tpm was exhausted",
  incremental: true
})
export const rateLimitCurrentBackoff = gauge("llm_rate_limit_current_backoff", {
  description: "Seconds until the last refused model has capacity again"
})

// ---- circuit breakers ----
/** 1 for the state a deployment is in, 0 for the other two (`state` = closed | open | half_open). */
export const circuitBreakerState = gauge("llm_circuit_breaker_state", {
  description: "Circuit state per model deployment: 1 on the current state label"
})
export const circuitBreakerTransitionsTotal = counter("llm_circuit_breaker_transitions_total", {
  description: "Circuit state changes (labels from, to)",
  incremental: true
})
export const circuitBreakerFailuresTotal = counter("llm_circuit_breaker_failures_total", {
  description: "Outcomes recorded against a model's health",
  incremental: true
})
export const circuitBreakerSuccessesTotal = counter("llm_circuit_breaker_successes_total", {
  description: "Successful outcomes recorded for a model",
  incremental: true
})

// ---- per gateway request ----
export const clientRequestsTotal = counter("llm_client_requests_total", {
  description: "Requests answered by the router (status = success | error | circuit_open)",
  incremental: true
})
export const clientRequestDurationSeconds = histogram("llm_client_request_duration_seconds", {
  description: "Time the router spent on a request, every attempt and backoff included",
  boundaries: seconds
})
export const clientErrorsTotal = counter("llm_client_errors_total", {
  description: "Requests that failed, by the LLMError tag the caller got (error_type)",
  incremental: true
})

// ---- cache (updated by the cache service) ----
export const cacheHitsTotal = counter("llm_cache_hits_total", {
  description: "Requests answered from the response cache (L1, L2 or semantic), by the provider of the cached answer",
  incremental: true
})
export const cacheMissesTotal = counter("llm_cache_misses_total", {
  description: "Cacheable requests that went upstream, by the provider that answered",
  incremental: true
})
export const cacheHitRate = gauge("llm_cache_hit_rate", {
  description: "Cache hits / (hits + misses) since start, per provider (0 to 1)"
})

/** Series per labelled metric before new label sets share the `other` series. */
export const MAX_SERIES = 1000

/**
 * One metric per label set, memoised, each built with its attributes so its series key is
 * computed once, not on every update. The label sets come from config and error tags, but a
 * label must never grow a process's memory (or a Prometheus server's) without bound, so past
 * `maxSeries` a new label set is counted in one series whose every label is `other`.
 */
export const labelled = <I, S>(metric: Metric.Metric<I, S>, maxSeries: number = MAX_SERIES) => {
  const series = new Map<string, Metric.Metric<I, S>>()
  const make = rebuild.get(metric) as ((attributes: Readonly<Record<string, string>>) => Metric.Metric<I, S>) | undefined
  const build = (attributes: Readonly<Record<string, string>>) =>
    make !== undefined ? make(attributes) : Metric.withAttributes(metric, attributes)
  let other: Metric.Metric<I, S> | undefined
  return (attributes: Readonly<Record<string, string>>): Metric.Metric<I, S> => {
    let key = ""
    for (const k in attributes) key += `${k}\u0000${attributes[k]}\u0001`
    let m = series.get(key)
    if (m === undefined) {
      if (series.size >= maxSeries) {
        if (other === undefined) {
          const labels: Record<string, string> = {}
          for (const k in attributes) labels[k] = "other"
          other = build(labels)
        }
        return other
      }
      m = build(attributes)
      series.set(key, m)
    }
    return m
  }
}
