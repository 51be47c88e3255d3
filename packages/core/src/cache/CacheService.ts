/**
 * The response cache: L1 in memory (LRU + TTL), an optional shared L2 (`CacheL2`, Redis in
 * production) and an optional semantic index, in front of an upstream call.
 *
 * Lookup order in `getOrCompute`: L1 → L2 → semantic → compute. Identical concurrent misses
 * share ONE flight (the L2 read, the embedding and the upstream call); every caller receives its
 * outcome. A failure is never cached. The L2 is best-effort: each call is bounded by a short
 * timeout, an error or timeout is a miss, the first one of an outage is logged (once), and the
 * L2 is tried again after `l2RetryMs`, so a Redis outage costs neither availability nor latency.
 */
import { Clock, Context, Effect, Layer, Option, type Scope, Stream } from "effect"
import { CacheL2, type CacheL2Shape } from "./CacheL2.ts"
import type { CacheConfig } from "../config/ConfigSchema.ts"
import type { LLMRequest, LLMResponse, StreamChunk } from "../domain/Domain.ts"
import { Embedder, type EmbedderShape } from "./Embedder.ts"
import type { LLMError } from "../domain/LLMError.ts"
import { type CacheResult, type Counts, hitOf } from "./internal/entries.ts"
import { makeFlights } from "./internal/Flights.ts"
import { cacheKey } from "./internal/key.ts"
import { makeL2Tier } from "./internal/L2Tier.ts"
import { Lru } from "./internal/Lru.ts"
import { cacheL2ErrorsTotal, makeCacheMetrics } from "./internal/metrics.ts"
import { replayAsStream } from "./internal/replay.ts"
import { makeSemanticTier, type SemanticLookup } from "./internal/SemanticTier.ts"

export type { CacheResult, CacheStatus } from "./internal/entries.ts"
export type { SemanticLookup } from "./internal/SemanticTier.ts"

export interface CacheStats {
  /** Live L1 entries. */
  readonly size: number
  readonly hits: number
  readonly misses: number
  /** hits / (hits + misses), 0 before any lookup. */
  readonly hitRate: number
  /** L2 calls that failed or timed out. */
  readonly l2Errors: number
  /** An L2 is configured and its last call succeeded. */
  readonly l2Available: boolean
}

export interface CacheServiceShape {
  /** `cache.enabled`: when false every lookup is a bypass, so callers can skip building keys. */
  readonly enabled: boolean
  /** Stable key of the normalised request, the model candidates and the caller's scope. */
  readonly key: (req: LLMRequest, ctx: { readonly scope: string; readonly candidates: ReadonlyArray<string> }) => string
  readonly getOrCompute: (
    key: string,
    compute: Effect.Effect<LLMResponse, LLMError>,
    options?: { readonly bypass?: boolean | undefined; readonly semantic?: SemanticLookup | undefined }
  ) => Effect.Effect<CacheResult, LLMError>
  /** L1 then L2 (an L2 hit fills L1); counts as a hit or a miss. */
  readonly get: (key: string) => Effect.Effect<Option.Option<LLMResponse>>
  /**
   * Stores in L1 and (bounded) in L2: the answer computed after a `get` miss (a streamed one).
   * Counts that miss on `/metrics` under the answer's provider. An answer that ended in an
   * error is not stored.
   */
  readonly set: (key: string, response: LLMResponse) => Effect.Effect<void>
  readonly stats: Effect.Effect<CacheStats>
}

/** Tuning that is not part of the YAML config. */
export interface CacheOptions {
  /** Upper bound of one L2 call (default 100 ms). */
  readonly l2TimeoutMs?: number | undefined
  /** After an L2 failure, skip the L2 for this long (default 1000 ms). */
  readonly l2RetryMs?: number | undefined
}

export class CacheService extends Context.Service<CacheService, CacheServiceShape>()(
  "@llm-gateway/core/CacheService"
) {
  /**
   * From `GatewayConfig.cache`, over the `CacheL2` and `Embedder` it requires: wiring supplies
   * the real ones or `CacheL2.layerNone` / `Embedder.layerNone`, so what the cache runs with is
   * in the Layer's type, never in whatever happened to be in context.
   */
  static readonly layer = (config: CacheConfig, options?: CacheOptions): Layer.Layer<CacheService, never, CacheL2 | Embedder> =>
    Layer.effect(CacheService, make(config, options))
  /** L1 only: no second tier, no semantic index. */
  static readonly layerMemory = (config: CacheConfig = defaultConfig, options?: CacheOptions): Layer.Layer<CacheService> =>
    Layer.effect(CacheService, makeWith(config, { ...options, l2: undefined, embedder: undefined }))
  static readonly replayAsStream: (response: LLMResponse) => Stream.Stream<StreamChunk> = replayAsStream
}

export { cacheL2ErrorsTotal, replayAsStream }

export const defaultConfig: CacheConfig = {
  enabled: true,
  ttlSeconds: 3600,
  maxSize: 1000,
  semantic: { enabled: false, threshold: 0.95 }
}

/** `CacheService` from `GatewayConfig.cache` over the `CacheL2` and `Embedder` in context (`none` ones switch a tier off). */
export const make = (
  config: CacheConfig,
  options?: CacheOptions
): Effect.Effect<CacheServiceShape, never, Scope.Scope | CacheL2 | Embedder> =>
  Effect.flatMap(
    Effect.all([Effect.service(CacheL2), Effect.service(Embedder)]),
    ([l2, embedder]) =>
      makeWith(config, {
        ...options,
        l2: l2 === CacheL2.none ? undefined : l2,
        embedder: embedder === Embedder.none ? undefined : embedder
      })
  )

/**
 * The cache from its tiers, as named steps: L1 (an LRU), the L2 tier, the semantic tier, the
 * shared flights behind them, then the service's methods over those.
 */
export const makeWith = Effect.fnUntraced(function*(
  config: CacheConfig,
  options: CacheOptions & { readonly l2: CacheL2Shape | undefined; readonly embedder: EmbedderShape | undefined }
) {
  const ttlMs = config.ttlSeconds * 1000
  const l1 = new Lru<CacheResult>(config.maxSize)
  const counts: Counts = { hits: 0, misses: 0 }
  const { observeUnsafe } = makeCacheMetrics()
  const observe = (provider: string, hit: boolean): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      observeUnsafe(provider, hit, fiber.context)
      return Effect.void
    })
  const l2 = yield* makeL2Tier(options.l2, l1, {
    ttlMs,
    timeoutMs: options.l2TimeoutMs ?? 100,
    retryMs: options.l2RetryMs ?? 1000
  })
  const semantic = yield* makeSemanticTier(config, options.embedder)
  const lookup = makeFlights({ lifetime: yield* Effect.scope, l1, l2, semantic, ttlMs, counts, observe })

  const getOrCompute: CacheServiceShape["getOrCompute"] = (k, compute, opts) => {
    if (!config.enabled || opts?.bypass === true) {
      return Effect.map(compute, (response): CacheResult => ({ response, cache: "bypass" }))
    }
    // The hit path is one plain step: no generator, no span, no allocation (measured: notes/caching.md).
    return Effect.withFiber((fiber) => {
      const hit = l1.get(k, fiber.getRef(Clock.Clock).currentTimeMillisUnsafe())
      if (hit !== undefined) {
        counts.hits++
        observeUnsafe(hit.response.provider, true, fiber.context)
        return Effect.succeed(hit)
      }
      return lookup(k, compute, semantic.on ? opts?.semantic : undefined)
    })
  }

  const get: CacheServiceShape["get"] = (k) =>
    Clock.clockWith((clock) => {
      if (!config.enabled) return Effect.succeed(Option.none())
      const now = clock.currentTimeMillisUnsafe()
      const hit = l1.get(k, now)
      if (hit !== undefined) {
        counts.hits++
        return Effect.as(observe(hit.response.provider, true), Option.some(hit.response))
      }
      return Effect.flatMap(l2.get(k, now), (found) => {
        if (found === undefined) {
          // No provider to label the metric with yet: `set` counts it with the answer.
          counts.misses++
          return Effect.succeed(Option.none())
        }
        counts.hits++
        return Effect.as(observe(found.response.provider, true), Option.some(found.response))
      })
    })

  const set: CacheServiceShape["set"] = (k, response) =>
    Effect.withFiber((fiber) => {
      if (!config.enabled || response.finishReason === "error") return Effect.void
      // `set` stores what a `get` miss went on to compute: that miss is labelled here, where
      // the provider is known.
      observeUnsafe(response.provider, false, fiber.context)
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      l1.set(k, hitOf(response), now + ttlMs)
      return l2.set(k, response, now)
    })

  const stats: CacheServiceShape["stats"] = Clock.clockWith((clock) =>
    Effect.sync(() => ({
      size: l1.size(clock.currentTimeMillisUnsafe()),
      hits: counts.hits,
      misses: counts.misses,
      hitRate: counts.hits + counts.misses === 0 ? 0 : counts.hits / (counts.hits + counts.misses),
      l2Errors: l2.errors(),
      l2Available: l2.available()
    }))
  )

  const key: CacheServiceShape["key"] = (req, ctx) => cacheKey(req, ctx.scope, ctx.candidates)
  return CacheService.of({ enabled: config.enabled, key, getOrCompute, get, set, stats })
})
