/**
 * The ops package's Prometheus metrics. The model calls themselves are counted by the router
 * under the seeds' `llm_client_*` names (task `alert-classification`); these say what the
 * classifier and the forwarder did with them.
 */
import { Effect, Metric } from "effect"
import { labelled } from "@llm-gateway/core/metrics/GatewayMetrics"

const classifications = labelled(Metric.counter("llm_alert_classifications_total", {
  description: "Alerts classified, by source (llm | rules | cache) and severity",
  incremental: true
}), 64)

const fallbacks = labelled(Metric.counter("llm_alert_fallbacks_total", {
  description: "Alerts classified by rules instead of the LLM, by reason (disabled | unavailable | breaker_open | schema)",
  incremental: true
}), 16)

/** Alerts waiting in the outbox for the downstream webhook. */
export const outboxDepth = Metric.gauge("llm_alert_outbox_depth", {
  description: "Alerts kept in the outbox until the downstream webhook accepts them"
})

export type FallbackReason = "disabled" | "unavailable" | "breaker_open" | "schema"

export const classified = (source: string, severity: string): Effect.Effect<void> =>
  Metric.update(classifications({ source, severity }), 1)

export const fellBack = (reason: FallbackReason): Effect.Effect<void> => Metric.update(fallbacks({ reason }), 1)

export const setOutboxDepth = (depth: number): Effect.Effect<void> => Metric.update(outboxDepth, depth)
