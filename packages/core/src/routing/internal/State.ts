/**
 * What this router instance knows about each deployment, read synchronously by the planner:
 * counters for `stats`, the decaying latency average for the `performance` strategy, and a
 * mirror of the circuit and rate-limit state. The breaker and limiter stores stay the
 * authority (shared through Redis); the mirror is refreshed from every call's outcome, so a
 * plan never waits on I/O and at worst orders one request on slightly stale health.
 */
import type { Health } from "./Planner.ts"

export type CircuitView = "closed" | "open" | "half-open"

export interface DeploymentState {
  requests: number
  successes: number
  errors: number
  latencySumMs: number
  latencyCount: number
  /** Exponentially weighted moving average of call latency (ms); undefined until measured. */
  ewmaMs: number | undefined
  circuit: CircuitView
  /** When an open circuit lets its next probe through (Clock ms). */
  openUntil: number
  /** Successes still needed after the probe before the circuit counts as closed (notes/routing.md). */
  probation: number
  /** Until when the local limiter refuses this deployment (Clock ms). */
  limitedUntil: number
  /** Last headroom seen by the limiter, for `stats`. */
  availableRequests: number | undefined
  availableTokens: number | undefined
}

/** Weight of the newest sample: after ~7 calls an old latency has faded below 10 %. */
export const EWMA_ALPHA = 0.3

export class RouterState {
  private readonly states = new Map<string, DeploymentState>()
  private readonly counters = new Map<string, number>()
  failovers = 0

  get(ref: string): DeploymentState {
    let s = this.states.get(ref)
    if (s === undefined) {
      s = {
        requests: 0,
        successes: 0,
        errors: 0,
        latencySumMs: 0,
        latencyCount: 0,
        ewmaMs: undefined,
        circuit: "closed",
        openUntil: 0,
        probation: 0,
        limitedUntil: 0,
        availableRequests: undefined,
        availableTokens: undefined
      }
      this.states.set(ref, s)
    }
    return s
  }

  peek(ref: string): DeploymentState | undefined {
    return this.states.get(ref)
  }

  latency(ref: string): number | undefined {
    return this.states.get(ref)?.ewmaMs
  }

  recordLatency(ref: string, ms: number): void {
    const s = this.get(ref)
    s.latencySumMs += ms
    s.latencyCount++
    s.ewmaMs = s.ewmaMs === undefined ? ms : EWMA_ALPHA * ms + (1 - EWMA_ALPHA) * s.ewmaMs
  }

  health(ref: string, now: number): Health {
    const s = this.states.get(ref)
    if (s === undefined) return "healthy"
    // an open circuit past its open time is due for a probe: route to it normally
    if (s.circuit === "open" && s.openUntil > now) return "open"
    if (s.limitedUntil > now) return "rate-limited"
    return "healthy"
  }

  /** Round-robin position the next request of a group will take, without taking it. */
  peekCounter(key: string): number {
    return this.counters.get(key) ?? 0
  }

  /** Round-robin position of a group; each call advances it. */
  nextCounter(key: string): number {
    const n = this.counters.get(key) ?? 0
    this.counters.set(key, n + 1)
    return n
  }
}
