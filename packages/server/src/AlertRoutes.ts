/**
 * Alertmanager's side of the gateway (`@llm-gateway/ops`):
 * - `POST /api/v1/alerts`: the webhook receiver. Answers 200 as soon as the payload is queued
 *   (Alertmanager gives up after max(group_interval, 10 s) and never retries a 4xx); classifying
 *   and forwarding run in the background. Its own body limit (`alerts.maxBodyBytes`, 10 MiB):
 *   a big group outgrows the API's. A full queue is a 503, which Alertmanager retries.
 * - `POST /api/v1/alerts/classify`: synchronous; a webhook payload or one alert in, one result
 *   per alert out, in input order.
 * - `GET` / `PUT /api/v1/alerts/mode`: the enrichment mode, `{ "mode": … }`.
 * Same gateway-key auth as the rest of the API.
 */
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { alertsOfBody, type Classification, WebhookPayload } from "@llm-gateway/ops/Alert"
import { AlertClassifier } from "@llm-gateway/ops/AlertClassifier"
import { AlertForwarder } from "@llm-gateway/ops/AlertForwarder"
import { EnrichmentMode, MODES } from "@llm-gateway/ops/EnrichmentMode"
import * as OpsLayer from "@llm-gateway/ops/OpsLayer"
import { GatewayDatabase } from "@llm-gateway/storage/GatewayDatabase"
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import { ApiError, invalidRequest } from "./HttpError.ts"
import { authenticated, type Handled, jsonRoute, type RouteOptions, type ServerContext } from "./internal/context.ts"
import { jsonText, makeJsonReader } from "./internal/http.ts"

type Request = HttpServerRequest.HttpServerRequest

/** The ops services over this server's manager, alive as long as the server. */
export const buildOps = (ctx: ServerContext): Effect.Effect<Context.Context<OpsLayer.OpsServices>, never, Scope.Scope> =>
  Layer.build(OpsLayer.layerFromConfig(ctx.config).pipe(
    Layer.provide(Layer.succeed(LLMManager, ctx.manager)),
    // the outbox shares the server's store: one SQLite connection per process
    Layer.provide(Layer.succeed(GatewayDatabase, ctx.governance.db))
  ))

const queueFull = new ApiError({
  status: 503,
  type: "ServiceUnavailable",
  code: "alert_queue_full",
  message: "the alert queue is full; retry shortly",
  retryAfterSeconds: 1
})

const resultJson = (r: Classification) => ({
  fingerprint: r.fingerprint,
  severity: r.severity,
  category: r.category,
  confidence: r.confidence,
  reasoning: r.reasoning,
  recommendations: r.recommendations,
  source: r.source,
  model: r.model,
  tokens: r.tokens,
  costUsd: r.costUsd
})

const decodePayload = Schema.decodeUnknownResult(WebhookPayload)

export const routes = (ctx: ServerContext, ops: Context.Context<OpsLayer.OpsServices>): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const classifier = Context.get(ops, AlertClassifier)
  const forwarder = Context.get(ops, AlertForwarder)
  const mode = Context.get(ops, EnrichmentMode)
  // the webhook's own body limit: a big alert group outgrows the API's
  const alertBodies: RouteOptions = { readJson: makeJsonReader(OpsLayer.resolveSettings(ctx.config).maxBodyBytes) }

  const receive = (request: Request) =>
    jsonRoute(ctx, request, (body) => {
      const decoded = decodePayload(body)
      return decoded._tag === "Failure"
        ? invalidRequest(`invalid Alertmanager webhook payload: ${decoded.failure.message}`)
        : { body: body as Record<string, unknown>, payload: decoded.success }
    }, ({ body, payload }): Handled =>
      Effect.flatMap(forwarder.submit(body, payload), (queued) =>
        queued
          ? Effect.succeed(jsonText(JSON.stringify({ status: "accepted", alerts: payload.alerts.length })))
          : Effect.fail(queueFull)), alertBodies)

  const classify = (request: Request) =>
    jsonRoute(ctx, request, (body) => {
      const alerts = alertsOfBody(body)
      return typeof alerts === "string" ? invalidRequest(alerts) : alerts
    }, (alerts): Handled =>
      Effect.map(classifier.classifyBatch(alerts), (results) => jsonText(JSON.stringify({ results: results.map(resultJson) }))), alertBodies)

  const getMode = (request: Request) =>
    authenticated(ctx, request, () => Effect.map(mode.get, (m) => jsonText(JSON.stringify({ mode: m }))))

  const putMode = (request: Request) =>
    jsonRoute(ctx, request, (body) => {
      const m = typeof body === "object" && body !== null ? (body as { mode?: unknown }).mode : undefined
      return typeof m === "string" && (MODES as ReadonlyArray<string>).includes(m)
        ? m as (typeof MODES)[number]
        : invalidRequest(`mode must be one of ${MODES.join(", ")}`, "mode")
    }, (m): Handled => Effect.as(mode.set(m), jsonText(JSON.stringify({ mode: m }))))

  return [
    HttpRouter.route("POST", "/api/v1/alerts", receive),
    HttpRouter.route("POST", "/api/v1/alerts/classify", classify),
    HttpRouter.route("GET", "/api/v1/alerts/mode", getMode),
    HttpRouter.route("PUT", "/api/v1/alerts/mode", putMode)
  ]
}
