/**
 * Seed 004's self-healing calls over HTTP (`@llm-gateway/ops` SystemAnalyst), each answering
 * the service's result as JSON with its `source` (`llm`, or `rules` when no model could answer):
 * - `POST /api/v1/ops/analyze` `{ metrics, context? }`
 * - `POST /api/v1/ops/heal` `{ anomaly, context?, availableActions }` — the action is always one of them
 * - `POST /api/v1/ops/explain` `{ anomaly, context? }`
 */
import type * as OpsLayer from "@llm-gateway/ops/OpsLayer"
import { SystemAnalyst } from "@llm-gateway/ops/SystemAnalyst"
import { Context, Effect } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import { type ApiError, invalidRequest } from "./HttpError.ts"
import { type Handled, jsonRoute, type ServerContext } from "./internal/context.ts"
import { jsonText } from "./internal/http.ts"

type Request = HttpServerRequest.HttpServerRequest
type Body = Record<string, unknown>

const isRecord = (u: unknown): u is Body => typeof u === "object" && u !== null && !Array.isArray(u)

const metricsOf = (u: unknown): Record<string, number> | undefined => {
  if (!isRecord(u)) return undefined
  for (const v of Object.values(u)) if (typeof v !== "number" || !Number.isFinite(v)) return undefined
  return u as Record<string, number>
}

const contextOf = (body: Body) => (isRecord(body.context) ? body.context : undefined)

const notAnObject = invalidRequest("the body must be a JSON object")
const anomalyRequired = invalidRequest("anomaly is required", "anomaly")

interface Analyze {
  readonly metrics: Record<string, number>
  readonly context: Body | undefined
}

interface Heal {
  readonly anomaly: unknown
  readonly context: Body | undefined
  readonly actions: readonly [string, ...Array<string>]
}

interface Explain {
  readonly anomaly: unknown
  readonly context: Body | undefined
}

const readAnalyze = (body: unknown): Analyze | ApiError => {
  if (!isRecord(body)) return notAnObject
  const metrics = metricsOf(body.metrics)
  return metrics === undefined ? invalidRequest("metrics must be an object of numbers", "metrics") : { metrics, context: contextOf(body) }
}

const readHeal = (body: unknown): Heal | ApiError => {
  if (!isRecord(body)) return notAnObject
  const actions = body.availableActions
  if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === "string" && a !== "")) {
    return invalidRequest("availableActions must be a non-empty array of strings", "availableActions")
  }
  if (body.anomaly === undefined) return anomalyRequired
  const unique = [...new Set(actions as Array<string>)] as [string, ...Array<string>]
  return { anomaly: body.anomaly, context: contextOf(body), actions: unique }
}

const readExplain = (body: unknown): Explain | ApiError => {
  if (!isRecord(body)) return notAnObject
  return body.anomaly === undefined ? anomalyRequired : { anomaly: body.anomaly, context: contextOf(body) }
}

export const routes = (ctx: ServerContext, ops: Context.Context<OpsLayer.OpsServices>): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const analyst = Context.get(ops, SystemAnalyst)
  const json = (value: unknown) => jsonText(JSON.stringify(value))

  const analyze = (request: Request) =>
    jsonRoute(ctx, request, readAnalyze, ({ metrics, context }): Handled => Effect.map(analyst.analyzeSystemState(metrics, context), json))

  const heal = (request: Request) =>
    jsonRoute(ctx, request, readHeal, ({ anomaly, context, actions }): Handled =>
      Effect.map(analyst.generateHealingDecision(anomaly, context, actions), json))

  const explain = (request: Request) =>
    jsonRoute(ctx, request, readExplain, ({ anomaly, context }): Handled => Effect.map(analyst.explainAnomaly(anomaly, context), json))

  return [
    HttpRouter.route("POST", "/api/v1/ops/analyze", analyze),
    HttpRouter.route("POST", "/api/v1/ops/heal", heal),
    HttpRouter.route("POST", "/api/v1/ops/explain", explain)
  ]
}
