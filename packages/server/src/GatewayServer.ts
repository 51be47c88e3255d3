/**
 * The gateway's HTTP server: effect/http routes on Node's `http` server, over the services the
 * gateway Layer provides: `LLMManager` and `GatewayStatus` (config, models, counters, health).
 *
 * Graceful shutdown: when the layer's scope closes (SIGINT/SIGTERM under `NodeRuntime.runMain`)
 * the listener stops accepting connections, requests and streams in flight get up to
 * `shutdownTimeoutMs` to finish, then whatever is left is interrupted (which aborts its
 * upstream calls) and the services are released.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import * as GatewayServer from "@llm-gateway/server/GatewayServer"
 * Layer.launch(GatewayServer.layer({ port: 8080 }).pipe(Layer.provide(gatewayLayer()))).pipe(NodeRuntime.runMain)
 * ```
 */
import { createServer, type Server } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { GatewayStatus } from "@llm-gateway/core/manager/GatewayStatus"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { Effect, Layer, References, type Scope } from "effect"
import { HttpRouter, type HttpServer } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import { makeAuthenticator } from "./internal/auth.ts"
import { boundedTask, makeGovernedManager } from "./internal/governance.ts"
import { buildGovernance, teamOf } from "./internal/governanceServices.ts"
import type { ServerContext } from "./internal/context.ts"
import { makeJsonReader } from "./internal/http.ts"
import { type FastSlot, makeFastHandler } from "./internal/nodeHandler.ts"
import { makeBodyRecorder } from "./internal/ledgerBodies.ts"
import { makeScrubber, secretsOf } from "./internal/secrets.ts"
import { CurrentDrain, type Drain, makeDrain } from "./internal/shutdown.ts"
import * as ConsoleRoutes from "./ConsoleRoutes.ts"
import * as OpenAIRoutes from "./OpenAIRoutes.ts"
import * as AnthropicRoutes from "./AnthropicRoutes.ts"
import * as ResponsesRoutes from "./ResponsesRoutes.ts"
import * as AlertRoutes from "./AlertRoutes.ts"
import * as OpsAnalysisRoutes from "./OpsAnalysisRoutes.ts"
import * as AdminRoutes from "./AdminRoutes.ts"
import * as OpsRoutes from "./OpsRoutes.ts"
import * as SeedRoutes from "./SeedRoutes.ts"
import * as Tracing from "./Tracing.ts"

/** The manager serves requests; `GatewayStatus` answers status, health and model listings. */
export type ServerServices = LLMManager | GatewayStatus

export interface ServeOptions {
  /** Overrides `server.host` (`--host`). */
  readonly host?: string | undefined
  /** Overrides `server.port` (`--port`; 0 picks a free port). */
  readonly port?: number | undefined
  /** How long in-flight requests and streams may take to finish on shutdown (default 10 s). */
  readonly shutdownTimeoutMs?: number | undefined
  /** `false` keeps tracing off whatever the config says; otherwise `tracing` / the OTel env decide. */
  readonly tracing?: boolean | undefined
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

/** Resolves everything a request needs once, at start-up. */
export const makeContext: Effect.Effect<ServerContext, never, ServerServices | Scope.Scope> = Effect.gen(function*() {
  const status = yield* GatewayStatus
  const config = status.config
  const governance = yield* buildGovernance(config)
  const auth = makeAuthenticator(config, { keys: governance.keys, teamOf: teamOf(governance.keys) })
  const scrubber = makeScrubber(secretsOf(config))
  return {
    config,
    governance,
    // keys, budgets and the ledger wrap every manager call the routes make
    manager: makeGovernedManager(yield* LLMManager, {
      ...governance,
      callerOf: auth.cachedCaller,
      timeoutMs: config.routing.timeoutMs,
      taskOf: boundedTask(config.routing),
      bodies: config.ledger?.storeBodies === true ? makeBodyRecorder(scrubber) : undefined
    }),
    status,
    auth,
    scrubber,
    readJson: makeJsonReader(config.server.maxBodyBytes),
    startedAt: performance.now()
  } satisfies ServerContext
})

/** The chat completions route, served on plain node:http when the slot is given (internal/nodeHandler.ts). */
const CHAT_PATHS = ["/v1/chat/completions", "/chat/completions"]

/**
 * Every route of the gateway, registered on the `HttpRouter`; with a `fast` slot, the chat
 * route is also handed to the node:http fast path (only while tracing is off: the request span
 * is effect/http's middleware).
 */
const routesWith = (fast: FastSlot | undefined): Layer.Layer<never, never, HttpRouter.HttpRouter | ServerServices> =>
  HttpRouter.use((router) =>
  Effect.gen(function*() {
    const ctx = yield* makeContext
    const ops = yield* OpsRoutes.routes(ctx)
    // @llm-gateway/ops over this manager: alert classification/forwarding, system analysis
    const platform = yield* AlertRoutes.buildOps(ctx)
    const opsApi = [...AlertRoutes.routes(ctx, platform), ...OpsAnalysisRoutes.routes(ctx, platform)]
    const ui = yield* ConsoleRoutes.routes(ctx)
    const all = [...OpenAIRoutes.routes(ctx), ...AnthropicRoutes.routes(ctx), ...ResponsesRoutes.routes(ctx), ...SeedRoutes.routes(ctx), ...AdminRoutes.routes(ctx), ...opsApi, ...ui, ...ops]
    // HEAD answers every GET route with its status and headers (Node sends no body for HEAD)
    const heads = all.filter((r) => r.method === "GET").map((r) => HttpRouter.route("HEAD", r.path, r.handler))
    yield* router.addAll([...all, ...heads])
    const chat = all.find((r) => r.method === "POST" && r.path === CHAT_PATHS[0])
    if (fast !== undefined && chat !== undefined && !(yield* References.TracerEnabled)) {
      const slot = fast
      slot.handler = makeFastHandler({
        paths: CHAT_PATHS,
        handler: chat.handler,
        services: yield* Effect.context<never>(),
        scope: yield* Effect.scope,
        maxBodyBytes: ctx.config.server.maxBodyBytes
      })
      // once the routes are released, requests still arriving get effect/http's answer
      yield* Effect.addFinalizer(() => Effect.sync(() => void (slot.handler = undefined)))
    }
  })
)

/** Every route of the gateway, registered on the `HttpRouter`. */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter | ServerServices> = routesWith(undefined)

/**
 * CORS only when `server.corsOrigins` names origins: a gateway on localhost that answered every
 * origin would let any web page the user visits spend the configured provider keys.
 */
const withCors = <E, R>(layer: Layer.Layer<never, E, R>, origins: ReadonlyArray<string> | undefined) =>
  origins === undefined || origins.length === 0
    ? layer
    : Layer.merge(
      layer,
      HttpRouter.cors({
        allowedOrigins: origins.includes("*") ? undefined : origins,
        allowedHeaders: ["authorization", "content-type", "x-llm-task", "x-llm-strategy", "x-llm-cache", "x-llm-route"],
        exposedHeaders: ["x-llm-provider", "x-llm-model", "x-llm-cache", "x-llm-attempts", "x-llm-overhead-ms", "x-llm-route"],
        maxAge: 600
      })
    )

/**
 * Node's `server.close()` closes the connections idle at that moment, but one whose response
 * finishes later stays open until the client's keep-alive timer drops it. While closing, idle
 * connections are closed as soon as they appear, so shutdown ends when the last response does.
 */
const makeNodeServer = (drain: Drain, graceMs: number, fast: FastSlot) => (): Server => {
  const server = createServer()
  // The fast path sees each request first; what it does not take goes to effect/http's listener.
  const emit = server.emit.bind(server)
  server.emit = ((event: string, ...args: Array<any>) =>
    event === "request" && fast.handler !== undefined && fast.handler(args[0], args[1])
      ? true
      : emit(event, ...args)) as Server["emit"]
  const close = server.close.bind(server)
  server.close = (callback?: (error?: Error) => void) => {
    drain.begin(graceMs)
    const sweep = setInterval(() => server.closeIdleConnections(), 20)
    sweep.unref()
    return close((error?: Error) => {
      clearInterval(sweep)
      callback?.(error)
    })
  }
  return server
}

/**
 * The server, listening on `server.host:server.port` (or the overrides). Provides the running
 * `HttpServer` (its `address` tells the bound port).
 */
export const layer = (options: ServeOptions = {}): Layer.Layer<HttpServer.HttpServer, ServeError | ConfigurationError, ServerServices> =>
  Layer.unwrap(Effect.map(GatewayStatus, ({ config }) => {
    const graceMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
    // streams still open shortly before the grace ends are cut with an error event
    const drain = makeDrain()
    const cors = config.server.corsOrigins !== undefined && config.server.corsOrigins.length > 0
    const fast: FastSlot = { handler: undefined }
    return HttpRouter.serve(withCors(routesWith(cors ? undefined : fast), config.server.corsOrigins), { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provideMerge(NodeHttpServer.layerServer(makeNodeServer(drain, graceMs, fast), {
        host: options.host ?? config.server.host,
        port: options.port ?? config.server.port,
        gracefulShutdownTimeout: graceMs
      })),
      Layer.provide(Layer.succeed(CurrentDrain, drain)),
      Layer.provide(NodeHttpServer.layerHttpServices),
      // Spans only when a collector is configured (`tracing`, OTel env; Tracing.ts): otherwise
      // the tracer stays disabled, and a request pays for no span (two per request, each with
      // a stack capture).
      Layer.provide(options.tracing === false ? Tracing.layerOff : Tracing.layer(config.tracing))
    )
  }))

/** Same as `layer`: the server over the gateway's services. */
export const makeServer = layer
