/**
 * The ops services wired from the gateway's config: `alerts:` in the YAML file, the seeds' env
 * (`LLM_ENABLED`, `ALERTS_DOWNSTREAM_URL`), Redis when `redis.url` is set (shared classification
 * cache and enrichment mode), and the gateway's store for the outbox when a downstream is set.
 *
 * ```ts
 * const ops = OpsLayer.layer().pipe(Layer.provide(gatewayLayer()), Layer.provide(GatewayDatabase.layerConfig))
 * ```
 * The outbox uses the `GatewayDatabase` it is given: a process opens its store once (two
 * SQLite connections in one process would block each other's writes on the event loop).
 */
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import { LLMConfig } from "@llm-gateway/core/config/LLMConfig"
import type { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import type { GatewayDatabase } from "@llm-gateway/storage/GatewayDatabase"
import { Effect, Layer } from "effect"
import { AlertClassifier, DEFAULT_CACHE_TTL_MS } from "./AlertClassifier.ts"
import { AlertForwarder, type DownstreamConfig } from "./AlertForwarder.ts"
import { AlertOutbox } from "./AlertOutbox.ts"
import { EnrichmentMode, type Mode } from "./EnrichmentMode.ts"
import { SystemAnalyst } from "./SystemAnalyst.ts"

export type OpsServices = AlertClassifier | SystemAnalyst | EnrichmentMode | AlertForwarder

export interface OpsSettings {
  readonly llmEnabled: boolean
  readonly cacheTtlMs: number
  readonly mode: Mode
  readonly downstream: DownstreamConfig | undefined
  readonly workers: number
  readonly queueSize: number
  readonly maxBodyBytes: number
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `24h`, `30m`, `3600s`, `500ms`, or a number of seconds. */
export const parseTtl = (ttl: number | string | undefined): number => {
  if (ttl === undefined) return DEFAULT_CACHE_TTL_MS
  if (typeof ttl === "number") return ttl * 1000
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(ttl.trim())
  return m === null ? DEFAULT_CACHE_TTL_MS : Number(m[1]) * UNIT_MS[m[2]]
}

const envBool = (v: string | undefined): boolean | undefined => {
  const s = v?.trim().toLowerCase()
  return s === "true" || s === "1" || s === "yes" ? true : s === "false" || s === "0" || s === "no" ? false : undefined
}

/**
 * `LLM_ENABLED` keeps the seeds' meaning: `true` on, `false` off; unset, on when the gateway
 * has a chat model. The YAML's `alerts.llmEnabled` wins over the variable.
 */
export const resolveSettings = (config: GatewayConfig, env: Record<string, string | undefined> = process.env): OpsSettings => {
  const a = config.alerts
  const hasChatModel = config.providers.some((p) => p.models.some((m) => m.embedding !== true))
  const url = a?.downstream?.url ?? (env.ALERTS_DOWNSTREAM_URL?.trim() || undefined)
  return {
    llmEnabled: a?.llmEnabled ?? envBool(env.LLM_ENABLED) ?? hasChatModel,
    cacheTtlMs: parseTtl(a?.cacheTtl ?? (env.ALERTS_CACHE_TTL?.trim() || undefined)),
    // the seeds' default (seed 001): forwarding changes nothing until someone opts in
    mode: a?.mode ?? "transparent",
    downstream: url === undefined ? undefined : { url, headers: a?.downstream?.headers },
    workers: a?.workers ?? 4,
    queueSize: a?.queueSize ?? 1000,
    maxBodyBytes: a?.maxBodyBytes ?? 10 * 1024 * 1024
  }
}

export interface OpsLayerOptions {
  /** Env variables to read instead of `process.env` (tests). */
  readonly env?: Record<string, string | undefined> | undefined
  /** Forwarder tuning that is not configuration (tests shorten the retry pauses). */
  readonly forwarder?: { readonly pollMs?: number; readonly retryBaseMs?: number; readonly sendAttempts?: number } | undefined
}

// the drivers are imported only when configured, as the gateway does
const lazy = <A, E, R>(load: () => Promise<Layer.Layer<A, E, R>>): Layer.Layer<A, E, R> => Layer.unwrap(Effect.promise(load))

const build = (config: GatewayConfig, options: OpsLayerOptions): Layer.Layer<OpsServices, never, LLMManager | GatewayDatabase> => {
  const s = resolveSettings(config, options.env)
  const redisUrl = config.redis?.url
  const redis = redisUrl === undefined
    ? undefined
    : lazy(() => import("@llm-gateway/storage/RedisCacheStore").then((m) => m.layerRedis({ url: redisUrl })))
  const cacheL2 = redis === undefined
    ? Layer.empty
    : lazy(() => import("@llm-gateway/storage/RedisCacheStore").then((m) => m.layerFromRedisWith({ maxEntries: config.cache.maxSize })))
      .pipe(Layer.provide(redis))
  const mode = redis === undefined ? EnrichmentMode.layerMemory(s.mode) : EnrichmentMode.layerRedis(s.mode).pipe(Layer.provide(redis))
  const classifier = AlertClassifier.layer({ llmEnabled: s.llmEnabled, cacheTtlMs: s.cacheTtlMs }).pipe(Layer.provide(cacheL2))
  const outbox = s.downstream === undefined ? Layer.empty : AlertOutbox.layer
  const forwarder = AlertForwarder.layer({
    downstream: s.downstream,
    workers: s.workers,
    queueSize: s.queueSize,
    ...options.forwarder
  }).pipe(Layer.provide(outbox))
  const base = Layer.merge(classifier, mode)
  return Layer.mergeAll(
    base,
    forwarder.pipe(Layer.provide(base)),
    SystemAnalyst.layer({ llmEnabled: s.llmEnabled })
  )
}

/** Every ops service, from the gateway's `LLMConfig` and over its `LLMManager`. */
export const layer = (options: OpsLayerOptions = {}): Layer.Layer<OpsServices, never, LLMManager | LLMConfig | GatewayDatabase> =>
  Layer.unwrap(Effect.gen(function*() {
    return build(yield* LLMConfig, options)
  }))

/** The same from a config value. */
export const layerFromConfig = (config: GatewayConfig, options: OpsLayerOptions = {}): Layer.Layer<OpsServices, never, LLMManager | GatewayDatabase> =>
  build(config, options)
