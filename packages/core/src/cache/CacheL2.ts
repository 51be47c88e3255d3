/**
 * The port of the shared second-level response cache (Redis in `@llm-gateway/storage`), so the
 * core has no Redis dependency. `CacheService` bounds every call with a short timeout and treats
 * any failure as a miss: an implementation only has to report errors, never to hide them.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"

/** The L2 store failed or timed out. `CacheService` counts it and serves from L1 / upstream. */
export class CacheL2Error extends Schema.TaggedError<CacheL2Error>()("CacheL2Error", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

export interface CacheL2Shape {
  /** The JSON value stored under `key`, or `undefined` when absent or expired. */
  readonly get: (key: string) => Effect.Effect<unknown, CacheL2Error>
  /** Stores a JSON-serialisable value that expires after `ttlMs`. */
  readonly set: (key: string, value: object, ttlMs: number) => Effect.Effect<void, CacheL2Error>
}

export class CacheL2 extends Context.Service<CacheL2, CacheL2Shape>()("@llm-gateway/core/CacheL2") {
  /**
   * An in-process stand-in for a shared store: every `CacheService` built on the same layer
   * instance shares its entries. Values go through JSON so nothing is shared by reference,
   * exactly as with a networked store. Time comes from `Clock`, so `TestClock` drives expiry.
   */
  static readonly layerMemory: Layer.Layer<CacheL2> = Layer.sync(CacheL2, () => makeMemory())
  /** No second tier: the default `CacheService.layer` is wired with when no shared store is configured. */
  static readonly none: CacheL2Shape = {
    get: () => Effect.succeed(undefined),
    set: () => Effect.void
  }
  static readonly layerNone: Layer.Layer<CacheL2> = Layer.succeed(CacheL2, CacheL2.none)
}

export const makeMemory = (): CacheL2Shape => {
  const entries = new Map<string, { readonly json: string; readonly expiresAt: number }>()
  return {
    get: (key) =>
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          const entry = entries.get(key)
          if (entry === undefined) return undefined
          if (entry.expiresAt <= clock.currentTimeMillisUnsafe()) {
            entries.delete(key)
            return undefined
          }
          return JSON.parse(entry.json) as unknown
        })
      ),
    set: (key, value, ttlMs) =>
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          entries.set(key, { json: JSON.stringify(value), expiresAt: clock.currentTimeMillisUnsafe() + ttlMs })
        })
      )
  }
}
