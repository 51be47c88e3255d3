/**
 * Where breaker state and rate-limit counters live. The router requires both stores (its Layer
 * type says so); wiring supplies either the shared Redis ones or `layerMemoryStores`, the
 * instance's own. A shared store is wrapped so that while it is down this instance's memory
 * stands in (StoreFallback: breakers keep opening, limits keep holding, one log line); the
 * memory default is used as it is.
 */
import { Context, Effect, Layer } from "effect"
import { CircuitBreaker, RateLimiter } from "effect/persistence"
import type { RoutingConfig } from "../../config/ConfigSchema.ts"
import { makeBreakers } from "./Breakers.ts"
import type { Deployment } from "./Deployments.ts"
import { makeLimits } from "./Limits.ts"
import type { RouterState } from "./State.ts"
import * as StoreFallback from "./StoreFallback.ts"
import { StoreHealth, type StoreHealthOptions } from "./StoreFallback.ts"

/** The stores `layerMemoryStores` built: no fallback wrapper needed. */
const memoryStores = new WeakSet<object>()

/** The instance's own breaker and limiter stores: the default when no shared store is configured. */
export const layerMemoryStores: Layer.Layer<CircuitBreaker.CircuitBreakerStore | RateLimiter.RateLimiterStore> = Layer
  .mergeAll(CircuitBreaker.layerStoreMemory(), RateLimiter.layerStoreMemory)
  .pipe(Layer.tap((context) =>
    Effect.sync(() => {
      memoryStores.add(Context.get(context, CircuitBreaker.CircuitBreakerStore))
      memoryStores.add(Context.get(context, RateLimiter.RateLimiterStore))
    })
  ))

export type RouterStores = CircuitBreaker.CircuitBreakerStore | RateLimiter.RateLimiterStore

/** Breakers and limits over the stores in context (shared ones behind a memory fallback). */
export const makeResilience = Effect.fnUntraced(function*(input: {
  readonly circuitBreaker: RoutingConfig["circuitBreaker"]
  readonly state: RouterState
  readonly deployments: ReadonlyArray<Deployment>
  readonly storeHealth?: StoreHealthOptions | undefined
}) {
  const sharedBreakers = yield* CircuitBreaker.CircuitBreakerStore
  const sharedLimits = yield* RateLimiter.RateLimiterStore
  let breakerStore = sharedBreakers
  let limiterStore = sharedLimits
  if (!memoryStores.has(sharedBreakers) || !memoryStores.has(sharedLimits)) {
    const health = new StoreHealth(input.storeHealth)
    if (!memoryStores.has(sharedBreakers)) {
      const memory = Context.get(yield* Layer.build(CircuitBreaker.layerStoreMemory()), CircuitBreaker.CircuitBreakerStore)
      breakerStore = StoreFallback.breakerStore(sharedBreakers, memory, health)
    }
    if (!memoryStores.has(sharedLimits)) {
      const memory = Context.get(yield* Layer.build(RateLimiter.layerStoreMemory), RateLimiter.RateLimiterStore)
      limiterStore = StoreFallback.limiterStore(sharedLimits, memory, health)
    }
  }
  const breakers = yield* makeBreakers({
    config: input.circuitBreaker,
    state: input.state,
    deployments: input.deployments,
    local: breakerStore === sharedBreakers && memoryStores.has(sharedBreakers)
  })
    .pipe(Effect.provideService(CircuitBreaker.CircuitBreakerStore, breakerStore))
  const limiter = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, limiterStore))
  return { breakers, limits: makeLimits(limiter, input.state) }
})
