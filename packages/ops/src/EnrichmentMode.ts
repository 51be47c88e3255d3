/**
 * How `POST /api/v1/alerts` treats what it forwards (notes/ops.md "Enrichment modes"):
 * - `transparent`: alerts pass through untouched, no model call;
 * - `enriched`: `ai_severity`, `ai_category`, `ai_confidence` labels and an `ai_reasoning` annotation;
 * - `transparent_with_recommendations`: labels untouched, recommendations as an annotation.
 *
 * With Redis configured the mode lives there, so one `PUT /api/v1/alerts/mode` switches every
 * instance; a Redis that is down leaves each instance on the mode it last saw (memory otherwise).
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as Redis from "effect/persistence/Redis"

export const Mode = Schema.Literals(["transparent", "enriched", "transparent_with_recommendations"])
export type Mode = typeof Mode.Type
export const MODES: ReadonlyArray<Mode> = Mode.literals

export const REDIS_KEY = "llm-gateway:alerts:mode"

export interface EnrichmentModeShape {
  readonly get: Effect.Effect<Mode>
  readonly set: (mode: Mode) => Effect.Effect<void>
}

const isMode = (u: unknown): u is Mode => typeof u === "string" && (MODES as ReadonlyArray<string>).includes(u)

export class EnrichmentMode extends Context.Service<EnrichmentMode, EnrichmentModeShape>()("@llm-gateway/ops/EnrichmentMode") {
  /** This instance only. */
  static readonly layerMemory = (initial: Mode): Layer.Layer<EnrichmentMode> =>
    Layer.sync(this, () => {
      let mode = initial
      return { get: Effect.sync(() => mode), set: (m) => Effect.sync(() => void (mode = m)) }
    })

  /** Shared by every instance on the same Redis; `initial` until someone sets it. */
  static readonly layerRedis = (initial: Mode): Layer.Layer<EnrichmentMode, never, Redis.Redis> =>
    Layer.effect(
      this,
      Effect.gen(function*() {
        const redis = yield* Redis.Redis
        let last = initial
        const bounded = <A>(e: Effect.Effect<A, Redis.RedisError>) => e.pipe(Effect.timeoutOption("200 millis"), Effect.option)
        return {
          get: Effect.map(bounded(redis.send<string | null>("GET", REDIS_KEY)), (found) => {
            if (found._tag === "Some" && found.value._tag === "Some" && isMode(found.value.value)) last = found.value.value
            return last
          }),
          set: (m) =>
            Effect.andThen(Effect.sync(() => void (last = m)), Effect.asVoid(bounded(redis.send("SET", REDIS_KEY, m))))
        } satisfies EnrichmentModeShape
      })
    )
}
