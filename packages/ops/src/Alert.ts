/**
 * Alertmanager's webhook payload (version 4) and what the classifier answers about one alert.
 * Schemas validate input; the raw objects are kept for forwarding, so fields this gateway does
 * not know (a newer Alertmanager's) pass through to the downstream untouched.
 */
import { createHash } from "node:crypto"
import { Schema } from "effect"

export const Severity = Schema.Literals(["critical", "warning", "info", "noise"])
export type Severity = typeof Severity.Type

/** Where a classification came from. */
export type ClassificationSource = "llm" | "rules" | "cache"

const Labels = Schema.Record(Schema.String, Schema.String)

/** One alert, as in `alerts[]` of the webhook (or posted on its own to `/api/v1/alerts/classify`). */
export const Alert = Schema.Struct({
  status: Schema.optional(Schema.String),
  labels: Labels,
  annotations: Schema.optional(Labels),
  startsAt: Schema.optional(Schema.String),
  endsAt: Schema.optional(Schema.String),
  generatorURL: Schema.optional(Schema.String),
  fingerprint: Schema.optional(Schema.String)
})
export type Alert = typeof Alert.Type

/** Alertmanager's webhook body (`version: "4"`). */
export const WebhookPayload = Schema.Struct({
  version: Schema.optional(Schema.String),
  groupKey: Schema.optional(Schema.String),
  truncatedAlerts: Schema.optional(Schema.Number),
  status: Schema.String,
  receiver: Schema.String,
  groupLabels: Schema.optional(Labels),
  commonLabels: Schema.optional(Labels),
  commonAnnotations: Schema.optional(Labels),
  externalURL: Schema.optional(Schema.String),
  alerts: Schema.Array(Alert)
})
export type WebhookPayload = typeof WebhookPayload.Type

/**
 * Exactly what the model is asked for (its JSON schema is what a provider's structured-output
 * mode or llama.cpp's grammar enforces); the gateway adds the rest.
 */
export const ModelClassification = Schema.Struct({
  severity: Severity,
  category: Schema.String,
  confidence: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  reasoning: Schema.String,
  recommendations: Schema.Array(Schema.String)
})
export type ModelClassification = typeof ModelClassification.Type

/**
 * What is decoded from the model: the same fields, with any finite confidence (clamped to 0..1
 * afterwards). A grammar built from the JSON schema (llama.cpp) enforces shapes, not numeric
 * ranges, so a small local model may answer `-5.1`; that is a bad confidence, not a reason to
 * throw the classification away.
 */
export const ModelAnswer = Schema.Struct({ ...ModelClassification.fields, confidence: Schema.Finite })

export interface Classification extends ModelClassification {
  readonly fingerprint: string
  readonly source: ClassificationSource
  /** `provider/model` that classified it, or `rules`. */
  readonly model: string
  /** Tokens this call spent (0 for rules and cache hits). */
  readonly tokens: number
  readonly costUsd: number
}

const sortedEntries = (labels: Readonly<Record<string, string>>) =>
  Object.keys(labels).sort().map((k) => [k, labels[k]] as const)

/**
 * Alertmanager's own fingerprint when the alert carries one; otherwise a stable hash of the
 * label set (what Alertmanager fingerprints too), so a single alert posted by hand also dedupes.
 */
export const fingerprintOf = (alert: Alert): string =>
  alert.fingerprint !== undefined && alert.fingerprint !== ""
    ? alert.fingerprint
    : createHash("sha256").update(JSON.stringify(sortedEntries(alert.labels))).digest("hex").slice(0, 16)

/**
 * The cache and dedupe identity: fingerprint AND label set. A fingerprint alone is not trusted
 * (a hand-posted alert may reuse one); the annotations are not part of it, since they carry
 * values (`{{ $value }}`) that change on every evaluation of the same alert.
 */
export const identityOf = (alert: Alert): string =>
  createHash("sha256").update(fingerprintOf(alert)).update("\u0000").update(JSON.stringify(sortedEntries(alert.labels)))
    .digest("hex")

/** Per alert and status, as Alertmanager re-sends it (repeat_interval, send_resolved). */
export const idempotencyKeyOf = (alert: Alert, groupStatus?: string): string =>
  `${fingerprintOf(alert)}:${alert.startsAt ?? ""}:${alert.status ?? groupStatus ?? "firing"}`

/** Body of `/api/v1/alerts/classify`: a webhook payload or one alert. */
export const alertsOfBody = (body: unknown): ReadonlyArray<Alert> | string => {
  if (typeof body === "object" && body !== null && Array.isArray((body as { alerts?: unknown }).alerts)) {
    const decoded = Schema.decodeUnknownResult(WebhookPayload)(body)
    return decoded._tag === "Success" ? decoded.success.alerts : `invalid webhook payload: ${decoded.failure.message}`
  }
  const one = Schema.decodeUnknownResult(Alert)(body)
  return one._tag === "Success" ? [one.success] : `expected a webhook payload or one alert: ${one.failure.message}`
}
