/**
 * Operations: `GET /metrics` (Prometheus text of every Effect metric — the seeds' names, see
 * core/GatewayMetrics — and the standard process metrics), `GET /health` (liveness: the process answers), `GET /health/ready`
 * (providers probed), and the catch-all that answers unknown paths in the error envelope.
 * Liveness and readiness status are open (a load balancer carries no gateway key); what could
 * tell an outsider something is not: readiness detail (each provider's error text) needs a
 * gateway key, and `/metrics` (spend per model) does too when `server.metricsAuth` is true.
 * Default `false`: scrapers usually carry no key, and the default listener is 127.0.0.1.
 */
import { Effect } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { methodNotAllowed, routeNotFound } from "./HttpError.ts"
import { authenticated, guard, type ServerContext } from "./internal/context.ts"
import { errorResponse, jsonText } from "./internal/http.ts"
import { processMetricsText } from "./internal/processMetrics.ts"
import { isReady, probeProviders } from "./ProviderHealth.ts"

type Request = HttpServerRequest.HttpServerRequest

const metrics = (ctx: ServerContext) => {
  const scrape = Effect.map(Effect.all([PrometheusMetrics.format(), processMetricsText]), ([gateway, process]) =>
    HttpServerResponse.text(ctx.scrubber.scrub(gateway + process), { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
  return ctx.config.server.metricsAuth === true
    ? (request: Request) => authenticated(ctx, request, () => scrape)
    : (request: Request) => guard(ctx, request, scrape)
}

const health = (ctx: ServerContext) => (request: Request) =>
  guard(ctx, request, Effect.sync(() =>
    jsonText(JSON.stringify({ status: "ok", uptime_seconds: Math.round((performance.now() - ctx.startedAt) / 1000) }))))

/** Probes are shared for a second: a burst of readiness checks costs the upstreams one probe. */
const ready = (ctx: ServerContext) =>
  Effect.map(
    Effect.cachedWithTTL(probeProviders(ctx.status, ctx.scrubber), "1 second"),
    (probe) => (request: Request) =>
      guard(ctx, request, Effect.map(probe, (all) => {
        const ok = isReady(all)
        const status = ok ? "ready" : "not_ready"
        // an upstream's error text (auth failures, hosts) only for a caller with a gateway key
        if (ctx.auth.scopeOf(request.headers.authorization) === undefined) {
          return jsonText(JSON.stringify({ status }), ok ? 200 : 503)
        }
        const providers: Record<string, unknown> = {}
        for (const h of all) {
          providers[h.provider] = {
            type: h.type,
            status: h.healthy ? "ok" : "error",
            latency_ms: Math.round(h.latencyMs),
            ...(h.error === undefined ? {} : { error: h.error })
          }
        }
        return jsonText(JSON.stringify({ status, providers }), ok ? 200 : 503)
      }))
  )

/**
 * Paths the server serves and their methods (HEAD with every GET: GatewayServer adds the
 * routes): a wrong method is a 405 with `Allow`, OPTIONS a 204 with `Allow`, anything else a 404.
 */
const known: Record<string, string> = {
  "/v1/chat/completions": "POST",
  "/v1/embeddings": "POST",
  "/v1/models": "GET",
  "/v1/responses": "POST",
  "/v1/messages": "POST",
  "/v1/messages/count_tokens": "POST",
  // the admin API (AdminRoutes)
  "/admin/v1/keys": "GET, POST",
  "/admin/v1/teams": "GET, POST",
  "/admin/v1/usage": "GET",
  "/admin/v1/audit": "GET",
  "/api/v1/llm/generate": "POST",
  "/api/v1/llm/chat": "POST",
  "/api/v1/llm/status": "GET",
  // @llm-gateway/ops (AlertRoutes, OpsAnalysisRoutes): served whatever LLM_ENABLED says
  "/api/v1/alerts": "POST",
  "/api/v1/alerts/classify": "POST",
  "/api/v1/alerts/mode": "GET, PUT",
  "/api/v1/ops/analyze": "POST",
  "/api/v1/ops/heal": "POST",
  "/api/v1/ops/explain": "POST",
  "/metrics": "GET",
  "/health": "GET",
  "/health/ready": "GET"
}

/** The web console's paths (ConsoleRoutes), known only while it is served (`server.ui` not false). */
const consolePaths: Record<string, string> = { "/ui": "GET", "/ui/index.html": "GET", "/ui/app.js": "GET" }

/** The OpenAI routes also answer without `/v1`; `/v1/models/{model}` takes any model name. */
const allowedOn = (path: string): string | undefined =>
  known[path] ?? known[`/v1${path}`] ?? (/^(\/v1)?\/models\/./.test(path)
    ? "GET"
    : /^(\/v1)?\/responses\/[^/]+$/.test(path) || /^\/api\/v1\/llm\/conversations\/[^/]+$/.test(path)
    ? "GET, DELETE"
    : /^\/admin\/v1\/(keys|teams)\/[^/]+$/.test(path)
    ? "GET, PATCH, DELETE"
    : /^\/admin\/v1\/keys\/[^/]+\/rotate$/.test(path)
    ? "POST"
    : undefined)

/** The `Allow` header for a path's methods: HEAD wherever GET is, OPTIONS everywhere. */
const allowHeader = (methods: string): string => `${methods.replace(/\bGET\b/, "GET, HEAD")}, OPTIONS`

const notFound = (ctx: ServerContext) => (request: Request) => {
  const path = request.url.split("?")[0]
  const allowed = allowedOn(path) ??
    (ctx.config.server.ui === false ? undefined : consolePaths[path.length > 1 ? path.replace(/\/$/, "") : path])
  if (allowed === undefined) return guard(ctx, request, Effect.fail(routeNotFound(request.method, path)))
  const allow = allowHeader(allowed)
  if (request.method === "OPTIONS") return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { allow } }))
  return Effect.succeed(
    HttpServerResponse.setHeader(errorResponse(methodNotAllowed(request.method, path, allowed), ctx.scrubber), "allow", allow)
  )
}

export const routes = (ctx: ServerContext): Effect.Effect<ReadonlyArray<HttpRouter.Route<never, never>>> =>
  Effect.map(ready(ctx), (readyHandler) => [
    HttpRouter.route("GET", "/metrics", metrics(ctx)),
    HttpRouter.route("GET", "/health", health(ctx)),
    HttpRouter.route("GET", "/health/ready", readyHandler),
    HttpRouter.route("*", "*", notFound(ctx))
  ])
