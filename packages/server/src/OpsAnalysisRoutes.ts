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
import { invalidRequest } from "./HttpError.ts"
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

export const routes = (ctx: ServerContext, ops: Context.Context<OpsLayer.OpsServices>): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const analyst = Context.get(ops, SystemAnalyst)
  const post = (f: (body: Body) => Handled) => (request: Request) =>
    jsonRoute(ctx, request, (body) => (isRecord(body) ? body : invalidRequest("the body must be a JSON object")), f)
  const json = (value: unknown) => jsonText(JSON.stringify(value))

  const analyze = post((body) => {
    const metrics = metricsOf(body.metrics)
    if (metrics === undefined) return Effect.fail(invalidRequest("metrics must be an object of numbers", "metrics"))
    return Effect.map(analyst.analyzeSystemState(metrics, contextOf(body)), json)
  })

  const heal = post((body) => {
    const actions = body.availableActions
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === "string" && a !== "")) {
      return Effect.fail(invalidRequest("availableActions must be a non-empty array of strings", "availableActions"))
    }
    if (body.anomaly === undefined) return Effect.fail(invalidRequest("anomaly is required", "anomaly"))
    const unique = [...new Set(actions as Array<string>)] as [string, ...Array<string>]
    return Effect.map(analyst.generateHealingDecision(body.anomaly, contextOf(body), unique), json)
  })

  const explain = post((body) =>
    body.anomaly === undefined
      ? Effect.fail(invalidRequest("anomaly is required", "anomaly"))
      : Effect.map(analyst.explainAnomaly(body.anomaly, contextOf(body)), json)
  )

  return [
    HttpRouter.route("POST", "/api/v1/ops/analyze", analyze),
    HttpRouter.route("POST", "/api/v1/ops/heal", heal),
    HttpRouter.route("POST", "/api/v1/ops/explain", explain)
  ]
}
