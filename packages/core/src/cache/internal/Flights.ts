/**
 * The cache's shared flights: identical concurrent misses share ONE flight (the L2 read, the
 * semantic probe and the upstream call) and every caller receives its outcome. The flight
 * belongs to the service's scope, not to its first caller; the last caller to leave interrupts
 * it (which aborts the upstream request). A failed computation is never stored.
 */
import { Clock, Effect, Fiber, type Scope } from "effect"
import type { LLMResponse } from "../../domain/Domain.ts"
import type { LLMError } from "../../domain/LLMError.ts"
import { spanned } from "../../metrics/GenAiSpans.ts"
import { type CacheResult, type Counts, hitOf } from "./entries.ts"
import type { L2Tier } from "./L2Tier.ts"
import type { Lru } from "./Lru.ts"
import type { SemanticLookup, SemanticTier } from "./SemanticTier.ts"

/** Where a flight's answer came from. */
type Source = "l2" | "semantic" | "compute"

interface Flight {
  fiber: Fiber.Fiber<{ readonly response: LLMResponse; readonly source: Source }, LLMError> | undefined
  waiters: number
}

export interface FlightDeps {
  /** The service's lifetime (an Effect `Scope`): flights run in it, not in their first caller's. */
  readonly lifetime: Scope.Scope
  readonly l1: Lru<CacheResult>
  readonly l2: L2Tier
  readonly semantic: SemanticTier
  readonly ttlMs: number
  readonly counts: Counts
  /** Counts a hit or a miss on `/metrics` under the answer's provider. */
  readonly observe: (provider: string, hit: boolean) => Effect.Effect<void>
}

/** The lookup after an L1 miss: join the key's flight, or start it. */
export const makeFlights = ({ counts, l1, l2, lifetime, observe, semantic, ttlMs }: FlightDeps) => {
  const inflight = new Map<string, Flight>()

  const fly = (k: string, compute: Effect.Effect<LLMResponse, LLMError>, lookup: SemanticLookup | undefined) =>
    Effect.gen(function*() {
      const fromL2 = yield* l2.get(k, yield* Clock.currentTimeMillis)
      if (fromL2 !== undefined) return { response: fromL2.response, source: "l2" as Source }

      const probe = lookup === undefined ? undefined : yield* semantic.search(lookup)
      if (probe !== undefined && "response" in probe) {
        l1.set(k, probe, (yield* Clock.currentTimeMillis) + ttlMs)
        return { response: probe.response, source: "semantic" as Source }
      }

      counts.misses++
      const response = yield* compute
      // An answer that ended in an error is returned but never stored.
      if (response.finishReason === "error") return { response, source: "compute" as Source }
      const now = yield* Clock.currentTimeMillis
      const hit = hitOf(response)
      l1.set(k, hit, now + ttlMs)
      if (probe !== undefined) semantic.add(k, probe, hit, now + ttlMs)
      yield* l2.setInBackground(k, response, now)
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
        counts.hits++
        return Effect.as(observe(response.provider, true), source === "compute" ? hitOf(response) : { response, cache: "hit" as const })
      })
    )
  }

  // a span only while the tracer is on (metrics/GenAiSpans.spanned)
  return spanned("CacheService.lookup", Effect.fnUntraced(function*(
    k: string,
    compute: Effect.Effect<LLMResponse, LLMError>,
    lookup: SemanticLookup | undefined
  ) {
    const existing = inflight.get(k)
    if (existing !== undefined) return yield* join(k, existing, false)
    const flight: Flight = { fiber: undefined, waiters: 0 }
    inflight.set(k, flight)
    // Its context (clock, logger, span) is the first caller's; its lifetime is the service's.
    flight.fiber = yield* Effect.forkIn(
      fly(k, compute, lookup).pipe(
        Effect.onExit(() =>
          Effect.sync(() => {
            if (inflight.get(k) === flight) inflight.delete(k)
          })
        )
      ),
      lifetime
    )
    return yield* join(k, flight, true)
  }))
}
