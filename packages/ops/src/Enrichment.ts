/**
 * What each enrichment mode does to an alert on its way downstream. Works on the raw JSON the
 * webhook received, so fields this gateway does not model pass through untouched. Every added
 * value is a string (Alertmanager's labels and annotations are string maps): `ai_confidence: "0.82"`.
 */
import type { Classification } from "./Alert.ts"
import type { Mode } from "./EnrichmentMode.ts"

type Json = Record<string, unknown>

const strings = (u: unknown): Record<string, string> => (typeof u === "object" && u !== null ? u as Record<string, string> : {})

export const enrichAlert = (alert: Json, c: Classification | undefined, mode: Mode): Json => {
  if (mode === "transparent" || c === undefined) return alert
  const annotations = strings(alert.annotations)
  if (mode === "transparent_with_recommendations") {
    return {
      ...alert,
      annotations: { ...annotations, ai_recommendations: c.recommendations.map((r) => `- ${r}`).join("\n") }
    }
  }
  return {
    ...alert,
    labels: {
      ...strings(alert.labels),
      ai_severity: c.severity,
      ai_category: c.category,
      ai_confidence: c.confidence.toFixed(2)
    },
    annotations: { ...annotations, ai_reasoning: c.reasoning }
  }
}

/** The payload with each alert enriched by its classification (same order as `alerts`). */
export const enrichPayload = (payload: Json, classifications: ReadonlyArray<Classification> | undefined, mode: Mode): Json => {
  const alerts = Array.isArray(payload.alerts) ? payload.alerts as ReadonlyArray<Json> : []
  return { ...payload, alerts: alerts.map((a, i) => enrichAlert(a, classifications?.[i], mode)) }
}
