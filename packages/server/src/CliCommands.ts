/**
 * The `gateway` command line: `serve`, `ask`, `models`, `health` (and `keys`, KeysCommand.ts,
 * which talks to a running gateway instead). Each of the first four builds the gateway from
 * `--config FILE` (else `LLM_GATEWAY_CONFIG`, else env and embedded defaults). Results go to
 * stdout; progress, banners, statistics and logs go to stderr, so `gateway ask … > out.txt`
 * captures only the answer.
 */
import { describeConfig, LLMConfig } from "@llm-gateway/core/config/LLMConfig"
import { describe as describeError, isLLMError } from "@llm-gateway/core/domain/LLMError"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { BuiltinTaskTypes, type LLMRequest, type StreamChunk } from "@llm-gateway/core/domain/Domain"
import { GatewayStatus } from "@llm-gateway/core/manager/GatewayStatus"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { isEmbeddedDefault } from "llm-gateway/EmbeddedDefault"
import { gatewayLayer } from "llm-gateway/GatewayLayer"
import { Context, Effect, Layer, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import * as GatewayServer from "./GatewayServer.ts"
import { formatModels, formatRoutes, formatProviderNotice, formatStats, Spinner } from "./internal/cliOutput.ts"
import { makeScrubber, secretsOf } from "./internal/secrets.ts"
import { isReady, probeProviders } from "./ProviderHealth.ts"
import { keysCommand } from "./KeysCommand.ts"

const out = (text: string) => Effect.sync(() => void process.stdout.write(text))
const err = (text: string) => Effect.sync(() => void process.stderr.write(text))

const config = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withDescription("YAML config file (default: LLM_GATEWAY_CONFIG, else env variables)"),
  Flag.optional
)

/** The gateway's services for one command, released when it ends. */
const gateway = (file: Option.Option<string>) =>
  Layer.build(gatewayLayer({
    file: Option.getOrUndefined(file),
    // embedded defaults (no config file): a local Ollama / LM Studio that answers joins in
    discoverLocal: Option.isNone(file) && !process.env.LLM_GATEWAY_CONFIG
  }))

/** A failed command prints one line on stderr and exits non-zero (no stack trace). */
const reportFailure = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.catch(effect, (e) =>
    Effect.andThen(
      err(`error: ${isLLMError(e) ? describeError(e) : e instanceof Error ? e.message : String(e)}\n`),
      Effect.sync(() => void (process.exitCode = 1))
    ))

/** Why the listener could not start, in words: Node's listen errors carry only a code. */
const listenFailure = (e: ServeError, host: string, port: number): Error => {
  const cause = e.cause as NodeJS.ErrnoException | undefined
  switch (cause?.code) {
    case "EADDRINUSE":
      return new Error(`port ${port} is in use on ${host}: stop the other server or pick another port (--port N, server.port)`)
    case "EACCES":
      return new Error(`not allowed to listen on port ${port}: ports below 1024 need privileges; pick another (--port N, server.port)`)
    case "EADDRNOTAVAIL":
      return new Error(`cannot listen on ${host}: no interface of this machine has that address (--host, server.host)`)
    default:
      return new Error(`cannot listen on ${host}:${port}: ${cause?.message ?? String(e.cause)}`)
  }
}

const serve = Command.make("serve", {
  config,
  port: Flag.Int("port").pipe(Flag.withAlias("p"), Flag.withDescription("Port (default: server.port, 8080)"), Flag.optional),
  host: Flag.String("host").pipe(Flag.withDescription("Interface (default: server.host, 127.0.0.1)"), Flag.optional),
  // handled by cli.ts before this command runs (a node:cluster primary); listed here for --help
  workers: Flag.String("workers").pipe(
    Flag.withDescription("Worker processes sharing the port: N, or auto (one per core); default 1"),
    Flag.optional
  )
}, (flags) =>
  reportFailure(Effect.scoped(Effect.gen(function*() {
    const services = yield* gateway(flags.config)
    const cfg = Context.get(services, LLMConfig)
    yield* err(`llm-gateway\n${describeConfig(cfg)}\n${formatProviderNotice(cfg, isEmbeddedDefault(cfg))}`)
    const host = Option.getOrElse(flags.host, () => cfg.server.host)
    const port = Option.getOrElse(flags.port, () => cfg.server.port)
    const server = yield* Layer.build(
      GatewayServer.layer({ port, host }).pipe(Layer.provide(Layer.succeedContext(services)))
    ).pipe(Effect.mapError((e) => (e._tag === "ConfigurationError" ? e : listenFailure(e, host, port))))
    const address = Context.get(server, HttpServer.HttpServer).address
    const where = address._tag === "UnixPathAddress"
      ? address.path
      : `http://${address._tag === "InetAddressV6" ? `[${address.address}]` : address.address}:${address.port}`
    yield* err(`listening on ${where} (OpenAI base URL: ${where}/v1) — Ctrl-C to stop\n`)
    return yield* Effect.never
  }).pipe(Effect.onInterrupt(() =>
    Effect.andThen(
      Effect.sync(() => void (process.exitCode = 0)),
      err("shutting down: finishing requests in flight…\n")
    )
  ))))).pipe(
  Command.withDescription("Run the HTTP gateway (OpenAI-compatible /v1, seed endpoints, /metrics)")
)

const ask = Command.make("ask", {
  prompt: Argument.String("prompt").pipe(Argument.withDescription("What to ask")),
  task: Flag.String("task").pipe(Flag.withAlias("t"), Flag.withDescription("Task type (routes by task)"), Flag.optional),
  model: Flag.String("model").pipe(Flag.withAlias("m"), Flag.withDescription("provider/model or a bare model id"), Flag.optional),
  stream: Flag.Boolean("stream").pipe(Flag.withDefault(true), Flag.withDescription("Stream tokens (--no-stream waits for the whole answer)")),
  config
}, (flags) =>
  reportFailure(Effect.scoped(Effect.gen(function*() {
    const services = yield* gateway(flags.config)
    const manager = Context.get(services, LLMManager)
    // Say so when the answer comes from the embedded tiny model, not a real one.
    const cfg = Context.get(services, LLMConfig)
    if (isEmbeddedDefault(cfg)) yield* err(formatProviderNotice(cfg, true))
    const req: LLMRequest = {
      prompt: flags.prompt,
      taskType: Option.getOrUndefined(flags.task),
      model: Option.getOrUndefined(flags.model)
    }
    const startedAt = performance.now()
    const spinner = yield* Effect.acquireRelease(Effect.sync(() => Spinner.start(process.stderr)), (s) => Effect.sync(() => s.stop()))
    if (!flags.stream) {
      const r = yield* manager.generate(req)
      spinner.stop()
      yield* out(r.content.endsWith("\n") ? r.content : `${r.content}\n`)
      yield* err(formatStats({ ...r, latencyMs: performance.now() - startedAt }))
      return
    }
    let last: StreamChunk | undefined
    let provider = ""
    let model = ""
    let text = ""
    yield* Stream.runForEach(manager.generateStream(req), (chunk) =>
      Effect.sync(() => {
        if (chunk.delta.length > 0) {
          spinner.stop()
          text += chunk.delta
          process.stdout.write(chunk.delta)
        }
        if (chunk.provider !== undefined) provider = chunk.provider
        if (chunk.model !== undefined) model = chunk.model
        last = chunk
      }))
    spinner.stop()
    if (!text.endsWith("\n")) yield* out("\n")
    yield* err(formatStats({
      provider,
      model,
      usage: last?.usage,
      costUsd: last?.costUsd ?? 0,
      cached: last?.cached === true,
      latencyMs: performance.now() - startedAt
    }))
  })))).pipe(Command.withDescription("Ask one question; streams the answer to stdout, statistics to stderr"))

const models = Command.make("models", { config }, (flags) =>
  reportFailure(Effect.scoped(Effect.gen(function*() {
    const services = yield* gateway(flags.config)
    const router = Context.get(services, ModelRouter)
    const cfg = Context.get(services, LLMConfig)
    yield* out(formatModels(router.models, cfg))
    // the built-in tasks and the configured ones, each as `auto` would route it now
    const tasks = [...new Set([...BuiltinTaskTypes, ...Object.keys(cfg.routing.tasks)])]
    const routes = yield* Effect.forEach(tasks, (task) =>
      router.plan({ prompt: "hello", taskType: task }).pipe(
        Effect.map((p) => ({ task, order: p.candidates.map((c) => c.ref) })),
        Effect.catch((e) => Effect.succeed({ task, order: `(none: ${describeError(e)})` }))
      ))
    if (router.models.some((m) => !m.embedding)) yield* out(formatRoutes(routes, cfg.routing.strategy))
  })))).pipe(Command.withDescription("List the configured models and the order model \"auto\" tries for each task"))

const health = Command.make("health", {
  config,
  timeout: Flag.Int("timeout").pipe(Flag.withDescription("Milliseconds to wait for each provider"), Flag.withDefault(5000))
}, (flags) =>
  reportFailure(Effect.scoped(Effect.gen(function*() {
    const services = yield* gateway(flags.config)
    const status = Context.get(services, GatewayStatus)
    const results = yield* probeProviders(status, makeScrubber(secretsOf(status.config)), flags.timeout)
    if (results.length === 0) yield* out("no providers configured\n")
    for (const h of results) {
      yield* out(
        h.healthy
          ? `ok     ${h.provider} (${h.type}) ${Math.round(h.latencyMs)} ms${h.models !== undefined ? `, ${h.models.length} models` : ""}\n`
          : `error  ${h.provider} (${h.type}): ${h.error ?? "unhealthy"}\n`
      )
    }
    if (!isReady(results)) yield* Effect.sync(() => void (process.exitCode = 1))
  })))).pipe(Command.withDescription("Probe each provider: ok, or the error and why"))

export const gatewayCommand = Command.make("gateway").pipe(
  Command.withDescription("llm-gateway: an OpenAI-compatible gateway over many LLM providers"),
  Command.withSubcommands([serve, ask, models, health, keysCommand])
)
