/**
 * The router: for each request it decides which models to try and in what order (`plan`), then
 * runs that order under the resilience rules — retries with backoff, failover, circuit breakers,
 * rate limits, deadlines — as the tagged `LLMError` union decides. See notes/routing.md.
 *
 * A request is planned once: `plan` gives the order (no I/O, nothing moves), the caller derives
 * its cache key from it and hands the same plan to `generate` / `stream`, which commit it
 * (routing/internal/RequestPlan). Without a plan they plan where they run.
 *
 * State that other instances need (breakers, rate limits) lives in Effect's persistence stores,
 * which the router's Layers require: the Redis ones when `redis.url` is set (every instance then
 * shares one circuit and one budget per model), else `ModelRouter.layerMemoryStores`.
 */
import { Clock, Context, Effect, Layer, Random, Stream } from "effect"
import type { GatewayConfig } from "../config/ConfigSchema.ts"
import type {
  EmbeddingInput,
  EmbeddingResponse,
  LLMRequest,
  ParsedModelRef,
  StreamChunk,
  Usage
} from "../domain/Domain.ts"
import { isTokenInput, requestMessages } from "../domain/Domain.ts"
import { ConfigurationError, type LLMError } from "../domain/LLMError.ts"
import { LLMConfig } from "../config/LLMConfig.ts"
import type { ModelClientShape } from "../providers/ModelClient.ts"
import { ModelClients, type ModelClientsShape } from "../providers/ModelClients.ts"
import type { PassthroughRequest } from "../providers/Passthrough.ts"
import { costOfUsage, estimatePromptTokens } from "../accounting/Pricing.ts"
import { type Deployment, type DeploymentTable, makeDeploymentTable } from "./internal/Deployments.ts"
import { type ChainContext, runChain } from "./internal/Executor.ts"
import { admitFields, fieldsFor, ignoredOf } from "./internal/Fields.ts"
import { makeGenerate, type Prepared, type RoutedResponse } from "./internal/Generate.ts"
import { passedOver, type RoutePlan } from "./internal/Planner.ts"
import {
  isPinned,
  makeRequestPlanner,
  providerRequest,
  type RequestPlanner,
  requestedOf,
  unknownModel,
  wrongKind
} from "./internal/RequestPlan.ts"
import { type BackoffOptions, defaultBackoff } from "./internal/RetryPolicy.ts"
import { RouterState } from "./internal/State.ts"
import type { StoreHealthOptions } from "./internal/StoreFallback.ts"
import { layerMemoryStores, makeResilience, type RouterStores } from "./internal/Stores.ts"
import { openRoute } from "./internal/Streaming.ts"
import { attemptClient } from "./internal/Passthrough.ts"
import { makeStats, type RouterStats } from "./internal/Stats.ts"
import * as Telemetry from "./internal/Telemetry.ts"

export { noChatModelMessage } from "./internal/RequestPlan.ts"
export type { PlannedCandidate, RoutePlan } from "./internal/Planner.ts"
export { fitPlan } from "./internal/Planner.ts"
export { answersNatively } from "./internal/Passthrough.ts"
export type { DeploymentStats, ProviderStats, RouterStats } from "./internal/Stats.ts"

export type { RoutedResponse } from "./internal/Generate.ts"

export interface RoutedEmbedding extends EmbeddingResponse {
  readonly provider: string
}

/** One deployment the router can route to, as `GET /v1/models` and `gateway models` list it. */
export interface DeploymentInfo {
  readonly ref: string
  readonly provider: string
  readonly model: string
  /** The provider type (`openai`, `anthropic`, `ollama`, …). */
  readonly type: string
  readonly contextWindow?: number | undefined
  readonly embedding: boolean
}

/** @deprecated Renamed `DeploymentInfo` (one name per concept: notes/architecture.md "Names"). */
export type ModelInfo = DeploymentInfo

export interface ModelRouterOptions {
  /** Seeds random / weighted balancing and retry jitter (default: Effect's `Random`). */
  readonly seed?: string | number | undefined
  readonly backoff?: Partial<BackoffOptions> | undefined
  /** How a shared (Redis) breaker / limiter store is watched while it is down (StoreFallback). */
  readonly storeHealth?: StoreHealthOptions | undefined
  /** Bare model id → provider (default: `LLMConfig`'s `resolveBareModel`). */
  readonly resolveBareModel?: ((config: GatewayConfig, id: string) => ParsedModelRef | undefined) | undefined
}

export interface EmbedRequest {
  readonly model?: string | undefined
  readonly input: EmbeddingInput
  readonly dimensions?: number | undefined
}

export interface ModelRouterShape {
  /**
   * The order of candidates for a request, computed from local state: no I/O, and nothing moves
   * (round-robin advances when the plan runs).
   */
  readonly plan: (req: LLMRequest) => Effect.Effect<RoutePlan, LLMError>
  /**
   * Runs `plan` (this request's, from `plan`) or plans here when none is given. With
   * `passthrough`, a candidate that serves its API natively gets the client's own request and
   * answers with `native` set; the others get `req` (providers/Passthrough).
   */
  readonly generate: (req: LLMRequest, plan?: RoutePlan, passthrough?: PassthroughRequest) => Effect.Effect<RoutedResponse, LLMError>
  /** Chunks carry provider/model; the first carries attempts, the last usage, finishReason, costUsd. */
  readonly stream: (req: LLMRequest, plan?: RoutePlan, passthrough?: PassthroughRequest) => Stream.Stream<StreamChunk, LLMError>
  readonly embed: (req: EmbedRequest) => Effect.Effect<RoutedEmbedding, LLMError>
  readonly stats: Effect.Effect<RouterStats>
  readonly models: ReadonlyArray<DeploymentInfo>
}

/** The routing half of a router: plans and the runs of plans (named steps of `make`). */
const makeRouting = (
  config: GatewayConfig,
  table: DeploymentTable,
  clients: ModelClientsShape,
  ctx: ChainContext,
  planner: RequestPlanner,
  random: Random.Random
) => {
  const now = Effect.clockWith((c) => c.currentTimeMillis)
  const settledPlan = (p: RoutePlan | LLMError) => "candidates" in p ? Effect.succeed(p) : Effect.fail(p)
  const plan = (req: LLMRequest): Effect.Effect<RoutePlan, LLMError> =>
    Effect.clockWith((clock) => settledPlan(planner.plan(req, clock.currentTimeMillisUnsafe())))

  const clientFor = (d: Deployment): Effect.Effect<ModelClientShape, LLMError> => {
    const c = clients.get(d.provider)
    return c !== undefined
      ? Effect.succeed(c)
      : Effect.fail(new ConfigurationError({ message: `provider ${d.provider} has no client`, path: "providers" }))
  }

  /** The client-request metrics of a request that ended at `t`. */
  const finishedAt = (startedAt: number, t: number, error?: LLMError) =>
    error === undefined ? Telemetry.clientRequest((t - startedAt) / 1000, "success") : Telemetry.clientFailed((t - startedAt) / 1000, error)
  const finished = (startedAt: number, error?: LLMError) => Effect.flatMap(now, (t) => finishedAt(startedAt, t, error))

  const settle = (d: Deployment, usage: Usage, promptEstimate: number, costUsd: number) =>
    Effect.andThen(
      Telemetry.usage(d, usage, costUsd),
      ctx.limits.settle(d, usage.totalTokens - Math.min(promptEstimate, d.tpm ?? promptEstimate))
    )

  /**
   * The plan a request runs (the one it was given, committed, else one made here) and its
   * candidates under the field rule (routing/internal/Fields), or the error that ends the
   * request: synchronous.
   */
  const prepare = (req: LLMRequest, given: RoutePlan | undefined, startedAt: number): Prepared | LLMError => {
    const p = given === undefined ? planner.planToRun(req, startedAt) : planner.commit(req, given, startedAt)
    if (!("candidates" in p)) return p
    const admitted = admitFields(req, p.candidates.map((c) => c.deployment), (d) => clients.get(d.provider), isPinned(req.model))
    return "candidates" in admitted ? { p, admitted } : admitted
  }

  /** The client an attempt on `d` calls (its pass-through face for a native request). */
  const attemptClientFor = (d: Deployment, passthrough: PassthroughRequest | undefined) =>
    passthrough === undefined ? clientFor(d) : Effect.map(clientFor(d), (c) => attemptClient(c, d, passthrough))

  // the chain's backoff draws from `random`: provided where the chain runs, not around every call
  const withRandom = Effect.provideService(Random.Random, random)
  /** A client of our own that bounds its calls and keeps a stream's time bounds (no race here). */
  const timesItself = (d: Deployment) => clients.get(d.provider)?.enforcesTimeout === true
  const generate = makeGenerate({ ctx, clients, withRandom, finishedAt, prepare, attemptClient: attemptClientFor, settle, timesItself })

  const stream = (req: LLMRequest, given?: RoutePlan, passthrough?: PassthroughRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(Effect.withFiber((fiber) => {
      const startedAt = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const r = prepare(req, given, startedAt)
      if (!("admitted" in r)) return Effect.andThen(finished(startedAt, r), Effect.fail(r))
      const { admitted, p } = r
      const messages = requestMessages(req)
      return openRoute({
        ctx,
        candidates: admitted.candidates,
        startedAt,
        promptTokens: p.promptTokens,
        requested: requestedOf(req),
        passedOver: (d) => passedOver(p, d.ref),
        request: (d) => providerRequest(req, messages, d, fieldsFor(req, admitted.decisions?.get(d.ref), clients.get(d.provider))),
        ignored: (d) => ignoredOf(admitted.decisions?.get(d.ref)),
        client: (d) => attemptClientFor(d, passthrough),
        onSettled: (d, usage, costUsd) => Effect.andThen(settle(d, usage, p.promptTokens, costUsd), finished(startedAt)),
        onFailed: (e, t) => finished(t, e),
        withRandom,
        // a pass-through may not reach the client's own stream, so it is raced here
        selfTimed: passthrough === undefined ? timesItself : undefined
      })
    }))

  const embed = Effect.fn("ModelRouter.embed")(function*(req: EmbedRequest) {
    const startedAt = yield* now
    let groups = table.embeddingGroups
    const pinnedFirst = req.model !== undefined && req.model !== ""
    if (pinnedFirst) {
      const pinned = table.resolve(req.model)
      if (pinned === undefined) return yield* unknownModel(req.model)
      // a listed chat model; a provider's ad-hoc model (its kind unknown) may embed
      const first = pinned.members[0]
      if (!first.embedding && table.byRef.has(first.ref)) {
        return yield* wrongKind(req.model, "a chat model", "POST /v1/chat/completions")
      }
      groups = [pinned, ...groups.filter((g) => g.key !== pinned.key)]
    }
    if (groups.length === 0) {
      return yield* new ConfigurationError({
        message: "no embedding model is configured (mark a model `embedding: true`)",
        path: "providers"
      })
    }
    const tokens = isTokenInput(req.input)
      ? req.input.reduce((n, ids) => n + ids.length, 0)
      : estimatePromptTokens(req.input.map((content) => ({ role: "user" as const, content })))
    // windows bound each input, not their sum: no context-window exclusion, configured order
    const p = planner.planGroups("embedding", groups, startedAt, pinnedFirst)
    const result = yield* runChain(ctx, {
      candidates: p.candidates.map((c) => c.deployment),
      startedAt,
      tokens,
      requested: pinnedFirst ? { model: req.model! } : { model: "auto", task: "embedding" },
      call: (d) =>
        Effect.flatMap(clientFor(d), (client) => client.embed({ model: d.model, input: req.input, dimensions: req.dimensions }))
    }).pipe(Effect.tapError((e) => finished(startedAt, e)))
    const d = result.deployment
    yield* settle(d, result.value.usage, tokens, costOfUsage(d.entry, result.value.usage))
    yield* finished(startedAt)
    return { ...result.value, provider: d.provider, model: d.model } satisfies RoutedEmbedding
  })

  return { plan, generate, stream, embed: (req: EmbedRequest) => withRandom(embed(req)) }
}

/** Steps of `make`: the deployment table (warning about names no provider lists), then the random source. */
const loadDeploymentTable = Effect.fnUntraced(function*(config: GatewayConfig, options: ModelRouterOptions) {
  const table: DeploymentTable = makeDeploymentTable(config, options.resolveBareModel)
  if (table.unresolved.length > 0) {
    yield* Effect.logWarning(`routing config names models no provider lists: ${table.unresolved.join(", ")}`)
  }
  return table
})

const randomOf = (seed: string | number | undefined) =>
  seed === undefined ? Effect.service(Random.Random) : Random.withSeed(Effect.service(Random.Random), seed)

/**
 * Builds a router from a config value: the deployment table, this instance's state, breakers and limits
 * over the stores in context (`ModelRouter.layerMemoryStores` when nothing is shared), the
 * request planner, then the routing itself.
 */
export const make = Effect.fnUntraced(function*(config: GatewayConfig, options: ModelRouterOptions = {}) {
  const clients = yield* ModelClients
  const table = yield* loadDeploymentTable(config, options)
  const state = new RouterState()
  const random = yield* randomOf(options.seed)
  const { breakers, limits } = yield* makeResilience({
    circuitBreaker: config.routing.circuitBreaker,
    state,
    deployments: table.deployments,
    storeHealth: options.storeHealth
  })
  const ctx: ChainContext = { routing: config.routing, state, breakers, limits, backoff: { ...defaultBackoff, ...options.backoff } }
  const planner = makeRequestPlanner(config, table, state, () => random.nextDoubleUnsafe())
  const routing = makeRouting(config, table, clients, ctx, planner, random)
  return ModelRouter.of({
    plan: routing.plan,
    generate: routing.generate,
    stream: routing.stream,
    embed: routing.embed,
    stats: makeStats({ deployments: table.deployments, state, breakers, limits, providers: config.providers }),
    models: table.deployments.map((d): DeploymentInfo => ({
      ref: d.ref,
      provider: d.provider,
      model: d.model,
      type: d.providerType,
      contextWindow: d.contextWindow,
      embedding: d.embedding
    }))
  })
})

export class ModelRouter extends Context.Service<ModelRouter, ModelRouterShape>()("@llm-gateway/core/ModelRouter") {
  /** Builds a router from a config value; needs `ModelClients` and the breaker / limiter stores. */
  static readonly make = make
  /** Wired: reads `LLMConfig`; needs `ModelClients` and the stores (`layerMemoryStores` or Redis). */
  static readonly layer: Layer.Layer<ModelRouter, never, LLMConfig | ModelClients | RouterStores> = Layer.effect(
    ModelRouter,
    Effect.flatMap(Effect.service(LLMConfig), (config) => make(config))
  )
  /** From a config value (tests, or a config built in code); same requirements as `layer`. */
  static readonly layerFrom = (
    config: GatewayConfig,
    options?: ModelRouterOptions
  ): Layer.Layer<ModelRouter, never, ModelClients | RouterStores> => Layer.effect(ModelRouter, make(config, options))
  /** The instance's own breaker and limiter stores: the default when nothing is shared. */
  static readonly layerMemoryStores = layerMemoryStores
}
