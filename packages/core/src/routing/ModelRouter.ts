/**
 * The router: for each request it decides which models to try and in what order (`plan`), then
 * runs that order under the resilience rules — retries with backoff, failover, circuit breakers,
 * rate limits, deadlines — as the tagged `LLMError` union decides. See notes/routing.md.
 *
 * State that other instances need (breakers, rate limits) lives in Effect's persistence stores:
 * provide `CircuitBreaker.CircuitBreakerStore` / `RateLimiter.RateLimiterStore` (the Redis ones
 * when `redis.url` is set) and every instance shares one circuit and one budget per model;
 * without them the router keeps both in memory.
 */
import { Context, Effect, Layer, Option, Random, Stream } from "effect"
import { CircuitBreaker, RateLimiter } from "effect/persistence"
import type { GatewayConfig } from "../config/ConfigSchema.ts"
import type {
  Attempt,
  EmbeddingInput,
  EmbeddingResponse,
  LLMRequest,
  ProviderRequest,
  ProviderResponse,
  StreamChunk,
  Usage
} from "../domain/Domain.ts"
import { isTokenInput, requestMessages } from "../domain/Domain.ts"
import { ConfigurationError, ContextTooLarge, InvalidRequest, type LLMError, ModelUnavailable } from "../domain/LLMError.ts"
import { LLMConfig } from "../config/LLMConfig.ts"
import type { ModelClientShape } from "../providers/ModelClient.ts"
import { ModelClients } from "../providers/ModelClients.ts"
import { costOfUsage, estimatePromptTokens } from "../accounting/Pricing.ts"
import { makeBreakers } from "./internal/Breakers.ts"
import { type Catalog, type Deployment, type Group, makeCatalog } from "./internal/Catalog.ts"
import { type ChainContext, runChain } from "./internal/Executor.ts"
import { type Admitted, admitFields, fieldsFor, ignoredOf } from "./internal/Fields.ts"
import { makeLimits } from "./internal/Limits.ts"
import { computePlan, type RoutePlan } from "./internal/Planner.ts"
import { type BackoffOptions, defaultBackoff } from "./internal/RetryPolicy.ts"
import { RouterState } from "./internal/State.ts"
import * as StoreFallback from "./internal/StoreFallback.ts"
import { StoreHealth, type StoreHealthOptions } from "./internal/StoreFallback.ts"
import { routeStream } from "./internal/Streaming.ts"
import { makeStats, type RouterStats } from "./internal/Stats.ts"
import * as Telemetry from "./internal/Telemetry.ts"

export type { PlannedCandidate, RoutePlan } from "./internal/Planner.ts"
export type { DeploymentStats, ProviderStats, RouterStats } from "./internal/Stats.ts"

/** A provider's answer plus what the router did to get it. */
export interface RoutedResponse extends ProviderResponse {
  readonly provider: string
  /**
   * `model` is the model id as configured (what a caller can ask for again, what prices and
   * accounting key on — not an upstream's dated snapshot name); `ref` is `provider/model`.
   */
  readonly ref: string
  readonly attempts: ReadonlyArray<Attempt>
  /** Total time in the router: every attempt and backoff. */
  readonly latencyMs: number
  /** Time inside the winning client call (`latencyMs − upstreamMs` is the gateway's overhead). */
  readonly upstreamMs: number
  readonly costUsd: number
  /** `extra` fields the answering provider ignored (the field rule, RequestFields). */
  readonly ignoredFields?: ReadonlyArray<string> | undefined
}

export interface RoutedEmbedding extends EmbeddingResponse {
  readonly provider: string
}

export interface ModelInfo {
  readonly ref: string
  readonly provider: string
  readonly model: string
  /** The provider type (`openai`, `anthropic`, `ollama`, …). */
  readonly type: string
  readonly contextWindow?: number | undefined
  readonly embedding: boolean
}

export interface ModelRouterOptions {
  /** Seeds random / weighted balancing and retry jitter (default: Effect's `Random`). */
  readonly seed?: string | number | undefined
  readonly backoff?: Partial<BackoffOptions> | undefined
  /** How a shared (Redis) breaker / limiter store is watched while it is down (StoreFallback). */
  readonly storeHealth?: StoreHealthOptions | undefined
  /** Bare model id → provider (default: `LLMConfig`'s `resolveBareModel`). */
  readonly resolveBareModel?: ((config: GatewayConfig, id: string) => {
    readonly provider: string
    readonly model: string
  } | undefined) | undefined
}

export interface ModelRouterShape {
  /** The order of candidates for a request, computed from local state: no I/O. */
  readonly plan: (req: LLMRequest) => Effect.Effect<RoutePlan, LLMError>
  readonly generate: (req: LLMRequest) => Effect.Effect<RoutedResponse, LLMError>
  /** Chunks carry provider/model; the first carries attempts, the last usage, finishReason, costUsd. */
  readonly stream: (req: LLMRequest) => Stream.Stream<StreamChunk, LLMError>
  readonly embed: (req: {
    readonly model?: string | undefined
    readonly input: EmbeddingInput
    readonly dimensions?: number | undefined
  }) => Effect.Effect<RoutedEmbedding, LLMError>
  readonly stats: Effect.Effect<RouterStats>
  readonly models: ReadonlyArray<ModelInfo>
}

/** A model asked for the other kind of work: the caller's mistake, a 400 naming the model. */
const wrongKind = (name: string, kind: string, use: string) =>
  new InvalidRequest({ model: name, param: "model", message: `"${name}" is ${kind}; use ${use} for it` })

/** What the caller asked for, as the final error names it. */
const requestedOf = (req: LLMRequest) =>
  req.model !== undefined && req.model !== "" && req.model !== "auto"
    ? { model: req.model }
    : { model: "auto", task: req.taskType ?? "general" }

const unknownModel = (name: string) =>
  new ModelUnavailable({
    model: name,
    message: `unknown model "${name}": no configured provider lists it (GET /v1/models shows the models)`,
    status: 404,
    shouldRetry: false
  })

/** What a gateway with no chat model says: which settings add one. */
export const noChatModelMessage = "no chat model is configured: add a provider (set OPENAI_API_KEY, ANTHROPIC_API_KEY, " +
  "GEMINI_API_KEY, OLLAMA_BASE_URL, or LLM_LOCAL_MODEL_PATH=<a .gguf file>; or list `providers` in the config file " +
  "named by --config / LLM_GATEWAY_CONFIG), or leave LLM_EMBEDDED_DEFAULT unset to serve the embedded models/stories260K.gguf"

const providerRequest = (
  req: LLMRequest,
  messages: ProviderRequest["messages"],
  d: Deployment,
  fields?: Pick<ProviderRequest, "extra" | "n" | "maxTokensField">
): ProviderRequest => {
  const prefs = req.preferences
  const cap = d.entry.maxOutputTokens
  return {
    ...fields,
    model: d.model,
    messages,
    // a deployment's own output cap wins: a fallback to a smaller model must not 400 on it
    maxTokens: prefs?.maxTokens !== undefined && cap !== undefined ? Math.min(prefs.maxTokens, cap) : prefs?.maxTokens,
    temperature: prefs?.temperature,
    topP: prefs?.topP,
    stop: prefs?.stop,
    responseFormat: req.responseFormat
  }
}

export const make = Effect.fnUntraced(function*(config: GatewayConfig, options: ModelRouterOptions = {}) {
  const clients = yield* ModelClients
  const catalog: Catalog = makeCatalog(config, options.resolveBareModel)
  if (catalog.unresolved.length > 0) {
    yield* Effect.logWarning(`routing config names models no provider lists: ${catalog.unresolved.join(", ")}`)
  }
  const state = new RouterState()
  const random = options.seed === undefined
    ? yield* Random.Random
    : yield* Random.withSeed(Effect.service(Random.Random), options.seed)

  // This instance's memory stores: the only ones without a shared store, the fallback while a
  // shared one is down (StoreFallback: breakers keep opening, limits keep holding, one log line).
  const memoryBreakers = Context.get(
    yield* Layer.build(CircuitBreaker.layerStoreMemory()),
    CircuitBreaker.CircuitBreakerStore
  )
  const memoryLimits = Context.get(yield* Layer.build(RateLimiter.layerStoreMemory), RateLimiter.RateLimiterStore)
  const storeHealth = new StoreHealth(options.storeHealth)
  const breakerStore = Option.match(yield* Effect.serviceOption(CircuitBreaker.CircuitBreakerStore), {
    onSome: (shared) => StoreFallback.breakerStore(shared, memoryBreakers, storeHealth),
    onNone: () => memoryBreakers
  })
  const limiterStore = Option.match(yield* Effect.serviceOption(RateLimiter.RateLimiterStore), {
    onSome: (shared) => StoreFallback.limiterStore(shared, memoryLimits, storeHealth),
    onNone: () => memoryLimits
  })
  const breakers = yield* makeBreakers({
    config: config.routing.circuitBreaker,
    state,
    deployments: catalog.deployments
  }).pipe(Effect.provideService(CircuitBreaker.CircuitBreakerStore, breakerStore))
  const limiter = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, limiterStore))
  const limits = makeLimits(limiter, state)
  const ctx: ChainContext = {
    routing: config.routing,
    state,
    breakers,
    limits,
    backoff: { ...defaultBackoff, ...options.backoff }
  }
  const nextRandom = () => random.nextDoubleUnsafe()
  const latency = (ref: string) => state.latency(ref)
  // only a request that runs advances round-robin: `plan` alone (a cache key, a dry run) shows
  // the order the next request would take without moving it
  const advance = (key: string) => state.nextCounter(key)
  const peek = (key: string) => state.peekCounter(key)

  const planGroups = (
    taskType: string,
    groups: ReadonlyArray<Group>,
    strategy: RoutePlan["strategy"],
    promptTokens: number,
    maxTokens: number | undefined,
    now: number,
    run: boolean,
    pinnedFirst: boolean
  ): RoutePlan =>
    computePlan({
      pinnedFirst,
      taskType,
      groups,
      strategy,
      loadBalancing: config.routing.loadBalancing,
      promptTokens,
      maxTokens,
      latency,
      health: (ref) => state.health(ref, now),
      counter: run ? advance : peek,
      random: nextRandom
    })

  /** Plan or the error that stops the request before any attempt. */
  const prepare = (req: LLMRequest, now: number, run: boolean): RoutePlan | LLMError => {
    const messages = requestMessages(req)
    if (messages.length === 0) return new InvalidRequest({ message: "the request has neither prompt nor messages" })
    const taskType = req.taskType ?? "general"
    let groups = catalog.candidatesFor(taskType)
    const pinnedFirst = req.model !== undefined && req.model !== "" && req.model !== "auto"
    if (pinnedFirst) {
      const pinned = catalog.resolve(req.model)
      if (pinned === undefined) return unknownModel(req.model)
      if (pinned.members[0].embedding) return wrongKind(req.model, "an embedding model", "POST /v1/embeddings")
      groups = [pinned, ...groups.filter((g) => g.key !== pinned.key)]
    }
    if (groups.length === 0) {
      // Not a ConfigurationError (HTTP 500, which SDKs retry): nothing can answer until the
      // operator adds a provider, so it is a 503 that says what to set and must not be retried.
      return new ModelUnavailable({
        model: req.model ?? "auto",
        status: 503,
        shouldRetry: false,
        message: noChatModelMessage
      })
    }
    const promptTokens = estimatePromptTokens(messages)
    const plan = planGroups(
      taskType,
      groups,
      req.preferences?.strategy ?? config.routing.strategy,
      promptTokens,
      req.preferences?.maxTokens,
      now,
      run,
      pinnedFirst
    )
    if (plan.candidates.length === 0) {
      const windows = groups.flatMap((g) => g.members.map((m) => m.contextWindow ?? 0))
      return new ContextTooLarge({
        model: plan.excluded[0]?.ref ?? groups[0].key,
        tokenCount: promptTokens,
        contextWindow: Math.max(...windows),
        message: `the prompt (~${promptTokens} tokens) exceeds every candidate's context window`
      })
    }
    return plan
  }

  const planWith = (run: boolean) => (req: LLMRequest): Effect.Effect<RoutePlan, LLMError> =>
    Effect.clockWith((clock) => {
      const p = prepare(req, clock.currentTimeMillisUnsafe(), run)
      return "candidates" in p ? Effect.succeed(p) : Effect.fail(p)
    })
  const plan = planWith(false)
  const planToRun = planWith(true)

  const clientFor = (d: Deployment): Effect.Effect<ModelClientShape, LLMError> => {
    const c = clients.get(d.provider)
    return c !== undefined
      ? Effect.succeed(c)
      : Effect.fail(new ConfigurationError({ message: `provider ${d.provider} has no client`, path: "providers" }))
  }

  const now = Effect.clockWith((c) => c.currentTimeMillis)

  /** The field rule per candidate: who can take the request's `extra` fields (routing/internal/Fields). */
  const admit = (req: LLMRequest, p: RoutePlan): Effect.Effect<Admitted, InvalidRequest> => {
    const candidates = p.candidates.map((c) => c.deployment)
    const pinnedFirst = req.model !== undefined && req.model !== "" && req.model !== "auto"
    const admitted = admitFields(req, candidates, (d) => clients.get(d.provider), pinnedFirst)
    return "candidates" in admitted ? Effect.succeed(admitted) : Effect.fail(admitted)
  }

  const finished = (startedAt: number, error?: LLMError) =>
    Effect.flatMap(now, (t) => {
      const seconds = (t - startedAt) / 1000
      if (error === undefined) return Telemetry.clientRequest(seconds, "success")
      const onlyOpen = (error.attempts ?? []).length > 0 &&
        (error.attempts ?? []).every((a) => a.outcome === "skipped:CircuitOpen")
      return Telemetry.clientRequest(seconds, onlyOpen ? "circuit_open" : "error", error._tag)
    })

  const settle = (d: Deployment, usage: Usage, promptEstimate: number, costUsd: number) =>
    Effect.andThen(
      Telemetry.usage(d, usage, costUsd),
      ctx.limits.settle(d, usage.totalTokens - Math.min(promptEstimate, d.tpm ?? promptEstimate))
    )

  const generate = Effect.fn("ModelRouter.generate")(function*(req: LLMRequest) {
    const startedAt = yield* now
    const p = yield* planToRun(req).pipe(Effect.tapError((e) => finished(startedAt, e)))
    const admitted = yield* admit(req, p).pipe(Effect.tapError((e) => finished(startedAt, e)))
    const messages = requestMessages(req)
    const request = (d: Deployment, client: ModelClientShape) =>
      providerRequest(req, messages, d, fieldsFor(req, admitted.decisions?.get(d.ref), client))
    const result = yield* runChain(ctx, {
      candidates: admitted.candidates,
      startedAt,
      tokens: p.promptTokens,
      requested: requestedOf(req),
      call: (d, timeoutMs) =>
        Effect.flatMap(clientFor(d), (client) =>
          client.generate(client.enforcesTimeout === true ? { ...request(d, client), timeoutMs } : request(d, client))),
      selfTimed: (d) => clients.get(d.provider)?.enforcesTimeout === true
    }).pipe(Effect.tapError((e) => finished(startedAt, e)))
    const d = result.deployment
    const response = result.value
    const costUsd = costOfUsage(d.entry, response.usage)
    yield* settle(d, response.usage, p.promptTokens, costUsd)
    const end = yield* now
    yield* finished(startedAt)
    return {
      ...response,
      provider: d.provider,
      model: d.model,
      ref: d.ref,
      attempts: result.attempts,
      latencyMs: end - startedAt,
      upstreamMs: result.upstreamMs,
      costUsd,
      ignoredFields: ignoredOf(admitted.decisions?.get(d.ref))
    } satisfies RoutedResponse
  }, Effect.provideService(Random.Random, random))

  const stream = (req: LLMRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(Effect.gen(function*() {
      const startedAt = yield* now
      const p = yield* planToRun(req).pipe(Effect.tapError((e) => finished(startedAt, e)))
      const admitted = yield* admit(req, p).pipe(Effect.tapError((e) => finished(startedAt, e)))
      const messages = requestMessages(req)
      return routeStream({
        ctx,
        candidates: admitted.candidates,
        startedAt,
        promptTokens: p.promptTokens,
        requested: requestedOf(req),
        request: (d) => providerRequest(req, messages, d, fieldsFor(req, admitted.decisions?.get(d.ref), clients.get(d.provider))),
        ignored: (d) => ignoredOf(admitted.decisions?.get(d.ref)),
        client: clientFor,
        onSettled: (d, usage, costUsd) =>
          Effect.andThen(settle(d, usage, p.promptTokens, costUsd), finished(startedAt)),
        onFailed: (e, t) => finished(t, e)
      })
    })).pipe(Stream.provideService(Random.Random, random))

  const embed = Effect.fn("ModelRouter.embed")(function*(req: {
    readonly model?: string | undefined
    readonly input: EmbeddingInput
    readonly dimensions?: number | undefined
  }) {
    const startedAt = yield* now
    let groups = catalog.embeddingGroups
    const pinnedFirst = req.model !== undefined && req.model !== ""
    if (pinnedFirst) {
      const pinned = catalog.resolve(req.model)
      if (pinned === undefined) return yield* unknownModel(req.model)
      // a listed chat model; a provider's ad-hoc model (its kind unknown) may embed
      const first = pinned.members[0]
      if (!first.embedding && catalog.byRef.has(first.ref)) {
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
    const p = planGroups("embedding", groups, "performance", 0, 0, startedAt, true, pinnedFirst)
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
  }, Effect.provideService(Random.Random, random))

  const models: ReadonlyArray<ModelInfo> = catalog.deployments.map((d) => ({
    ref: d.ref,
    provider: d.provider,
    model: d.model,
    type: d.providerType,
    contextWindow: d.contextWindow,
    embedding: d.embedding
  }))

  return ModelRouter.of({
    plan,
    generate,
    stream,
    embed,
    stats: makeStats({ deployments: catalog.deployments, state, breakers, limits, providers: config.providers }),
    models
  })
})

export class ModelRouter extends Context.Service<ModelRouter, ModelRouterShape>()("@llm-gateway/core/ModelRouter") {
  /** Builds a router from a config value; needs `ModelClients` (and optionally the stores). */
  static readonly make = make
  /** Wired: reads `LLMConfig`; needs `ModelClients` (and optionally the breaker / limiter stores). */
  static readonly layer = Layer.effect(ModelRouter, Effect.flatMap(Effect.service(LLMConfig), (config) => make(config)))
  /** From a config value (tests, or a config built in code). */
  static readonly layerFrom = (config: GatewayConfig, options?: ModelRouterOptions) =>
    Layer.effect(ModelRouter, make(config, options))
}
