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
import { Clock, Context, Effect, Fiber, FiberSet, Layer, Metric, Option, Schema, type Scope, Stream } from "effect"
import { CacheL2, CacheL2Error, type CacheL2Shape } from "./CacheL2.ts"
import type { CacheConfig } from "../config/ConfigSchema.ts"
import { type LLMRequest, LLMResponse, type StreamChunk } from "../domain/Domain.ts"
import { Embedder, type EmbedderShape } from "./Embedder.ts"
import type { LLMError } from "../domain/LLMError.ts"
import { cacheKey } from "./internal/key.ts"
import { Lru } from "./internal/Lru.ts"
import { cacheL2ErrorsTotal, makeCacheMetrics } from "./internal/metrics.ts"
import { replayAsStream } from "./internal/replay.ts"
import { groupOf, normalise, SemanticIndex } from "./internal/SemanticIndex.ts"

export type CacheStatus = "hit" | "miss" | "bypass"

export interface CacheResult {
  readonly response: LLMResponse
  readonly cache: CacheStatus
}

export interface SemanticLookup {
  /** The text whose meaning is compared (typically the last user message). */
  readonly text: string
  readonly scope: string
  readonly task: string
}

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

/** What L2 holds: the answer and its absolute expiry, so an L2 hit fills L1 for the rest of the TTL only. */
const L2Entry = Schema.Struct({ v: Schema.Literal(1), response: LLMResponse, expiresAt: Schema.Finite })
const decodeL2Entry = Schema.decodeUnknownOption(L2Entry)

/** Where a flight's answer came from. */
type Source = "l2" | "semantic" | "compute"

interface Flight {
  fiber: Fiber.Fiber<{ readonly response: LLMResponse; readonly source: Source }, LLMError> | undefined
  waiters: number
}

/** The frozen result an L1 hit returns as is: a hit allocates nothing. */
const hitOf = (response: LLMResponse): CacheResult =>
  Object.freeze({ response: Object.freeze({ ...response, cached: true }), cache: "hit" as const })

export const makeWith = Effect.fnUntraced(function*(
  config: CacheConfig,
  options: CacheOptions & { readonly l2: CacheL2Shape | undefined; readonly embedder: EmbedderShape | undefined }
) {
  const scope = yield* Effect.scope
  // L2 writes run off the response path. On shutdown they are awaited (each is bounded by the
  // L2 timeout) before the set interrupts anything, so a closing instance still shares its answers.
  const l2Writes = yield* FiberSet.make<void>()
  yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(l2Writes))
  const ttlMs = config.ttlSeconds * 1000
  const l2TimeoutMs = options.l2TimeoutMs ?? 100
  const l2RetryMs = options.l2RetryMs ?? 1000
  const l2 = options.l2
  const embedder = config.semantic.enabled ? options.embedder : undefined
  const threshold = config.semantic.threshold
  if (config.enabled && config.semantic.enabled && embedder === undefined) {
    yield* Effect.logWarning("cache.semantic.enabled but no Embedder is provided: semantic cache is off")
  }

  const l1 = new Lru<CacheResult>(config.maxSize)
  const semanticIndex = new SemanticIndex<CacheResult>(config.maxSize)
  const inflight = new Map<string, Flight>()
  let hits = 0
  let misses = 0
  let l2Errors = 0
  let l2Healthy = true
  let l2SkipUntil = 0
  let embedWarned = false

  const { observeUnsafe } = makeCacheMetrics()
  const observe = (provider: string, hit: boolean): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      observeUnsafe(provider, hit, fiber.context)
      return Effect.void
    })

  const key: CacheServiceShape["key"] = (req, ctx) => cacheKey(req, ctx.scope, ctx.candidates)

  // ---- L2: bounded, best-effort ------------------------------------------------------------

  const l2Failed = (error: CacheL2Error, now: number) =>
    Effect.suspend(() => {
      l2Errors++
      l2SkipUntil = now + l2RetryMs
      if (!l2Healthy) return Metric.update(cacheL2ErrorsTotal, 1)
      l2Healthy = false
      return Effect.andThen(
        Metric.update(cacheL2ErrorsTotal, 1),
        Effect.logWarning(`cache L2 unavailable, serving from L1 and upstream until it is back: ${error.message}`)
      )
    })

  const l2Succeeded = Effect.suspend(() => {
    if (l2Healthy) return Effect.void
    l2Healthy = true
    return Effect.logInfo("cache L2 available again")
  })

  const bounded = <A>(effect: Effect.Effect<A, CacheL2Error>, now: number): Effect.Effect<Option.Option<A>> =>
    effect.pipe(
      Effect.timeoutOrElse({
        duration: l2TimeoutMs,
        orElse: () => Effect.fail(new CacheL2Error({ message: `timed out after ${l2TimeoutMs} ms` }))
      }),
      Effect.matchEffect({
        onFailure: (error) => Effect.as(l2Failed(error, now), Option.none()),
        onSuccess: (a) => Effect.as(l2Succeeded, Option.some(a))
      })
    )

  const l2Get = (k: string, now: number): Effect.Effect<CacheResult | undefined> => {
    if (l2 === undefined || now < l2SkipUntil) return Effect.succeed(undefined)
    return Effect.map(bounded(l2.get(k), now), (found) => {
      if (Option.isNone(found) || found.value === undefined || found.value === null) return undefined
      const entry = decodeL2Entry(found.value)
      // An undecodable value (another version, corruption) is a miss; it will be overwritten.
      if (Option.isNone(entry) || entry.value.expiresAt <= now) return undefined
      const hit = hitOf(entry.value.response)
      l1.set(k, hit, entry.value.expiresAt)
      return hit
    })
  }

  const l2Set = (k: string, response: LLMResponse, now: number): Effect.Effect<void> => {
    if (l2 === undefined || now < l2SkipUntil) return Effect.void
    const value = { v: 1 as const, response: { ...response, cached: false }, expiresAt: now + ttlMs }
    return Effect.asVoid(bounded(l2.set(k, value, ttlMs), now))
  }

  // ---- semantic ----------------------------------------------------------------------------

  const embed = (text: string): Effect.Effect<Float64Array | undefined> =>
    embedder === undefined
      ? Effect.succeed(undefined)
      : embedder.embed([text]).pipe(
        Effect.map((vectors) => (vectors[0] === undefined ? undefined : normalise(vectors[0]))),
        Effect.catch((error) => {
          if (embedWarned) return Effect.succeed(undefined)
          embedWarned = true
          return Effect.as(Effect.logWarning(`semantic cache: embedding failed, exact cache only: ${error._tag}`), undefined)
        })
      )

  // ---- the shared flight ---------------------------------------------------------------------

  const fly = (k: string, compute: Effect.Effect<LLMResponse, LLMError>, semantic: SemanticLookup | undefined) =>
    Effect.gen(function*() {
      const fromL2 = yield* l2Get(k, yield* Clock.currentTimeMillis)
      if (fromL2 !== undefined) return { response: fromL2.response, source: "l2" as Source }

      let vector: Float64Array | undefined
      const group = semantic === undefined ? "" : groupOf(semantic.scope, semantic.task)
      if (semantic !== undefined && embedder !== undefined) {
        vector = yield* embed(semantic.text)
        if (vector !== undefined) {
          const found = semanticIndex.search(group, vector, threshold, yield* Clock.currentTimeMillis)
          if (found !== undefined) {
            l1.set(k, found.value, (yield* Clock.currentTimeMillis) + ttlMs)
            return { response: found.value.response, source: "semantic" as Source }
          }
        }
      }

      misses++
      const response = yield* compute
      // An answer that ended in an error is returned but never stored.
      if (response.finishReason === "error") return { response, source: "compute" as Source }
      const now = yield* Clock.currentTimeMillis
      const hit = hitOf(response)
      l1.set(k, hit, now + ttlMs)
      if (vector !== undefined) semanticIndex.add(k, group, vector, hit, now + ttlMs)
      // Off the response path: the caller does not wait for the shared store.
      yield* FiberSet.run(l2Writes, l2Set(k, response, now))
      return { response, source: "compute" as Source }
    })

  const join = (k: string, flight: Flight, leader: boolean): Effect.Effect<CacheResult, LLMError> => {
    flight.waiters++
    return Fiber.join(flight.fiber!).pipe(
      // The last caller to leave takes the upstream call with it (interrupting aborts the request).
      Effect.onInterrupt(() =>
        Effect.suspend(() => {
          flight.waiters--
          if (flight.waiters > 0) return Effect.void
          if (inflight.get(k) === flight) inflight.delete(k)
          return Fiber.interrupt(flight.fiber!)
        })
      ),
      Effect.flatMap(({ response, source }) => {
        if (leader && source === "compute") {
          return Effect.as(observe(response.provider, false), { response, cache: "miss" as const })
        }
        hits++
        return Effect.as(observe(response.provider, true), source === "compute" ? hitOf(response) : { response, cache: "hit" as const })
      })
    )
  }

  const lookup = Effect.fn("CacheService.lookup")(function*(
    k: string,
    compute: Effect.Effect<LLMResponse, LLMError>,
    semantic: SemanticLookup | undefined
  ) {
    const existing = inflight.get(k)
    if (existing !== undefined) return yield* join(k, existing, false)
    const flight: Flight = { fiber: undefined, waiters: 0 }
    inflight.set(k, flight)
    // The flight belongs to the service, not to the first caller: it survives that caller's
    // interruption while others wait, and its context (clock, logger, span) is the caller's.
    flight.fiber = yield* Effect.forkIn(
      fly(k, compute, semantic).pipe(
        Effect.onExit(() =>
          Effect.sync(() => {
            if (inflight.get(k) === flight) inflight.delete(k)
          })
        )
      ),
      scope
    )
    return yield* join(k, flight, true)
  })

  // ---- the service -----------------------------------------------------------------------------

  const getOrCompute: CacheServiceShape["getOrCompute"] = (k, compute, opts) => {
    if (!config.enabled || opts?.bypass === true) {
      return Effect.map(compute, (response): CacheResult => ({ response, cache: "bypass" }))
    }
    // The hit path is one plain step: no generator, no span, no allocation (measured: notes/caching.md).
    return Effect.withFiber((fiber) => {
      const hit = l1.get(k, fiber.getRef(Clock.Clock).currentTimeMillisUnsafe())
      if (hit !== undefined) {
        hits++
        observeUnsafe(hit.response.provider, true, fiber.context)
        return Effect.succeed(hit)
      }
      return lookup(k, compute, config.semantic.enabled ? opts?.semantic : undefined)
    })
  }

  const get: CacheServiceShape["get"] = (k) =>
    Clock.clockWith((clock) => {
      if (!config.enabled) return Effect.succeed(Option.none())
      const now = clock.currentTimeMillisUnsafe()
      const hit = l1.get(k, now)
      if (hit !== undefined) {
        hits++
        return Effect.as(observe(hit.response.provider, true), Option.some(hit.response))
      }
      return Effect.flatMap(l2Get(k, now), (found) => {
        if (found === undefined) {
          // No provider to label the metric with yet: `set` counts it with the answer.
          misses++
          return Effect.succeed(Option.none())
        }
        hits++
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
      return l2Set(k, response, now)
    })

  const stats: CacheServiceShape["stats"] = Clock.clockWith((clock) =>
    Effect.sync(() => ({
      size: l1.size(clock.currentTimeMillisUnsafe()),
      hits,
      misses,
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      l2Errors,
      l2Available: l2 !== undefined && l2Healthy
    }))
  )

  return CacheService.of({ enabled: config.enabled, key, getOrCompute, get, set, stats })
})

