/**
 * The whole gateway as one Layer, from a config: provider clients by `type`, the router, the
 * cache (L2 on Redis when `redis.url` is set), conversation storage (memory, SQLite, Postgres),
 * usage accounting and the manager. The server and `makeLLMManager` both stand on it.
 */
import { CacheL2 } from "@llm-gateway/core/cache/CacheL2"
import { CacheService } from "@llm-gateway/core/cache/CacheService"
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import { ConversationStorage } from "@llm-gateway/core/conversations/ConversationStorage"
import { Embedder } from "@llm-gateway/core/cache/Embedder"
import { type GatewayConfigInput, LLMConfig, loadConfig, resolveBareModel } from "@llm-gateway/core/config/LLMConfig"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { GatewayStatus } from "@llm-gateway/core/manager/GatewayStatus"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import type { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import type { ProviderDefinition } from "@llm-gateway/core/providers/ProviderDefinition"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { UsageAccounting } from "@llm-gateway/core/accounting/UsageAccounting"
import { Effect, Layer } from "effect"
import * as CircuitBreaker from "effect/persistence/CircuitBreaker"
import * as RateLimiter from "effect/persistence/RateLimiter"
import { withEmbeddedDefault } from "./EmbeddedDefault.ts"
import { checkWritableFile } from "./internal/storagePaths.ts"
import { layerLazy } from "./LazyConversationStorage.ts"
import { type DiscoveryOptions, discoverLocalProviders } from "./LocalDiscovery.ts"
import { withPlugins } from "./Plugins.ts"
import { type ClientOverrides, layerProviderClients, providerDefinitions } from "./ProviderClients.ts"

/** What the gateway Layer provides. */
export type GatewayServices =
  | LLMManager
  | GatewayStatus
  | ModelRouter
  | LLMConfig
  | CacheService
  | UsageAccounting
  | ModelClients
  | ConversationStorage

export interface GatewayOptions {
  /** A YAML config file (else `LLM_GATEWAY_CONFIG`, else env and embedded defaults). */
  readonly file?: string | undefined
  /** A config in the YAML file's shape (as `makeLLMManager(config)` receives it). */
  readonly config?: GatewayConfigInput | undefined
  /** Env variables to read instead of `process.env` (tests). */
  readonly env?: Record<string, string | undefined> | undefined
  /** Add a local Ollama / LM Studio that answers on its usual port (`pnpm start`'s defaults). */
  readonly discoverLocal?: boolean | DiscoveryOptions | undefined
  /**
   * With no provider configured, serve the repository's `models/stories260K.gguf` as provider
   * `local` (EmbeddedDefault.ts). Default: on, unless `config` is given (an explicit config is
   * taken as written) or `LLM_EMBEDDED_DEFAULT=false`.
   */
  readonly embeddedDefault?: boolean | undefined
  /** Clients that replace the configured providers' clients, by provider name (tests). */
  readonly clients?: ClientOverrides | undefined
  /** Plug-in provider definitions (`defineProvider`): config entries of their `type` work like built-in ones. */
  readonly providers?: ReadonlyArray<ProviderDefinition> | undefined
}

/**
 * The storage drivers (pg, redis, node:sqlite + effect/sql) are imported only when configured:
 * together they are RSS a gateway on memory stores never needs (notes/benchmarks.md).
 */
const lazy = <A, E, R>(load: () => Promise<Layer.Layer<A, E, R>>): Layer.Layer<A, E, R> => Layer.unwrap(Effect.promise(load))

const layerConversations = (config: GatewayConfig): Layer.Layer<ConversationStorage, ConfigurationError> => {
  const c = config.conversations
  switch (c.store) {
    case "memory":
      return ConversationStorage.layerMemory({ ttlSeconds: c.ttlSeconds })
    case "sqlite": {
      // Opened on first use: a manager that never stores a conversation creates no file.
      // Whether it could is checked now, so a bad path fails start-up naming the key.
      const file = c.path ?? ".data/conversations.db"
      return Layer.unwrap(Effect.as(
        checkWritableFile("conversations.path", file),
        layerLazy({
          file,
          open: lazy(() =>
            import("@llm-gateway/storage/SqliteConversationStorage").then((m) => m.layer({ path: c.path, ttlSeconds: c.ttlSeconds }))
          )
        })
      ))
    }
    case "postgres":
      // LLMConfig's validation guarantees a url for the postgres store.
      return lazy(() =>
        import("@llm-gateway/storage/PostgresConversationStorage").then((m) => m.layer({ url: c.url!, ttlSeconds: c.ttlSeconds }))
      )
  }
}

/**
 * The semantic cache's embedder: the router's `embed` on `cache.semantic.model` (or the first
 * embedding model), so embeddings get the same retries, fallbacks and accounting as chat.
 */
const layerEmbedder = (config: GatewayConfig): Layer.Layer<Embedder, never, ModelRouter> =>
  Layer.effect(
    Embedder,
    Effect.map(ModelRouter, (router) =>
      Embedder.of({
        embed: (texts) => Effect.map(router.embed({ model: config.cache.semantic.model, input: texts }), (r) => r.embeddings)
      }))
  )

/** The gateway from an already validated config; `clients` replace providers' clients by name. */
export const layerFromConfig = (
  config: GatewayConfig,
  options: Pick<GatewayOptions, "clients" | "providers"> = {}
): Layer.Layer<GatewayServices, ConfigurationError> => {
  const clients = layerProviderClients(config.providers, options.clients, options.providers)
  // With `redis.url`, the L2 cache, rate-limit counters and breaker state live in Redis (one
  // connection, shared), so every instance sees the same; without it they are per instance.
  const redisUrl = config.redis?.url
  const shared = redisUrl === undefined
    ? undefined
    : lazy(() => import("@llm-gateway/storage/RedisCacheStore").then((m) => m.layerRedis({ url: redisUrl })))
  const routerStores = shared === undefined
    ? ModelRouter.layerMemoryStores
    : Layer.mergeAll(
      CircuitBreaker.layerStoreRedis({ prefix: "llm-gateway:breaker:" }),
      RateLimiter.layerStoreRedis({ prefix: "llm-gateway:limit:" })
    ).pipe(Layer.provide(shared))
  const definitions = [...providerDefinitions(options.providers).values()]
  const router = ModelRouter.layerFrom(config, { resolveBareModel: (c, id) => resolveBareModel(c, id, definitions) }).pipe(
    Layer.provideMerge(clients),
    Layer.provide(routerStores)
  )
  const cacheL2 = shared === undefined
    ? CacheL2.layerNone
    : lazy(() =>
      // the shared tier keeps at most cache.maxSize entries too (notes/caching.md)
      import("@llm-gateway/storage/RedisCacheStore").then((m) => m.layerFromRedisWith({ maxEntries: config.cache.maxSize }))
    ).pipe(Layer.provide(shared))
  const semantic = config.cache.enabled && config.cache.semantic.enabled
  const cache = CacheService.layer(config.cache).pipe(
    Layer.provide(cacheL2),
    Layer.provide(semantic ? layerEmbedder(config) : Embedder.layerNone)
  )
  const services = Layer.mergeAll(
    router,
    cache.pipe(Layer.provide(router)),
    layerConversations(config),
    UsageAccounting.layerMemory,
    Layer.succeed(LLMConfig, config)
  )
  // the server reads models, counters and health through GatewayStatus, not these services
  return Layer.merge(LLMManager.layerNoDeps, GatewayStatus.layer).pipe(Layer.provideMerge(services))
}

/** Loads and validates the config (file, env, defaults), then builds the gateway. */
export const gatewayLayer = (options: GatewayOptions = {}): Layer.Layer<GatewayServices, ConfigurationError> =>
  Layer.unwrap(Effect.gen(function*() {
    // the config's `plugins` first: their definitions are needed to validate and to build clients
    const withDefinitions = yield* withPlugins(options)
    return layerFromConfig(yield* resolveGatewayConfig(withDefinitions), withDefinitions)
  }))

/**
 * The config the gateway runs: loaded (`loadGatewayConfig`), plus local servers that answer
 * (`discoverLocal`), plus the embedded default model when still no provider is configured.
 */
export const resolveGatewayConfig = (options: GatewayOptions = {}): Effect.Effect<GatewayConfig, ConfigurationError> =>
  loadGatewayConfig(options).pipe(
    Effect.flatMap((config) =>
      options.discoverLocal === undefined || options.discoverLocal === false
        ? Effect.succeed(config)
        : discoverLocalProviders(config, options.discoverLocal === true ? {} : options.discoverLocal)
    ),
    Effect.flatMap((config) =>
      (options.embeddedDefault ?? options.config === undefined)
        ? withEmbeddedDefault(config, { env: options.env })
        : Effect.succeed(config)
    ),
    // entries added after loading (discovered servers, the embedded model) get their type's family too
    Effect.map((config) => withFamilies(config, providerDefinitions(options.providers)))
  )

const withFamilies = (config: GatewayConfig, definitions: ReadonlyMap<string, ProviderDefinition>): GatewayConfig => ({
  ...config,
  providers: config.providers.map((p) => {
    const family = p.family ?? definitions.get(p.type)?.family
    return family === p.family ? p : { ...p, family }
  })
})

export const loadGatewayConfig = (options: GatewayOptions = {}): Effect.Effect<GatewayConfig, ConfigurationError> =>
  Effect.flatMap(withPlugins(options), (withDefinitions) =>
    // An explicit config object is taken as written (env only fills its `${VAR}` references), so a
    // library caller's config is not silently changed by whatever the host process exports.
    loadConfig({
      file: options.file,
      input: options.config,
      env: options.env,
      mergeEnv: options.config === undefined,
      // the built-in definitions plus plug-ins (given, and the config's `plugins`): everything the config knows about each type
      providers: [...providerDefinitions(withDefinitions.providers).values()]
    }))
