/**
 * `ModelRouter.stats`, the data of `GET /api/v1/llm/status` (notes/http-api.md): per deployment and per
 * provider — requests, errors, success rate, average latency, circuit state and rate-limit
 * headroom. Counters are this instance's; circuit state and headroom are read from the shared
 * stores, so with Redis they are the whole fleet's.
 */
import { Effect } from "effect"
import type { ProviderConfig } from "../../config/ConfigSchema.ts"
import type { Breakers } from "./Breakers.ts"
import type { Deployment } from "./Deployments.ts"
import type { Limits } from "./Limits.ts"
import type { CircuitView, RouterState } from "./State.ts"

export interface DeploymentStats {
  readonly ref: string
  readonly provider: string
  readonly model: string
  readonly requests: number
  readonly errors: number
  /** Successful share of upstream calls; 1 before any call. */
  readonly successRate: number
  readonly avgLatencyMs: number | undefined
  readonly circuit: CircuitView
  readonly rateLimit: {
    readonly rpm: number | undefined
    readonly tpm: number | undefined
    readonly availableRequests: number | undefined
    readonly availableTokens: number | undefined
  } | undefined
}

export interface ProviderStats {
  readonly name: string
  readonly type: string
  /** available: every circuit closed · degraded: some open · unavailable: all open. */
  readonly status: "available" | "degraded" | "unavailable"
  readonly requests: number
  readonly errors: number
  readonly successRate: number
  readonly avgLatencyMs: number | undefined
  readonly availableRequests: number | undefined
  readonly availableTokens: number | undefined
}

export interface RouterStats {
  readonly deployments: ReadonlyArray<DeploymentStats>
  readonly providers: ReadonlyArray<ProviderStats>
  /** Times this instance moved on from a model to the next candidate. */
  readonly failovers: number
}

// a provider's rpm/tpm is one budget its models share (Limits): every model reads the same
// bucket, so the provider's headroom is that bucket, never a sum over its models
const sharedBudget = (xs: ReadonlyArray<number | undefined>): number | undefined => {
  const known = xs.filter((x): x is number => x !== undefined)
  return known.length > 0 ? Math.min(...known) : undefined
}

export const makeStats = (options: {
  readonly deployments: ReadonlyArray<Deployment>
  readonly state: RouterState
  readonly breakers: Breakers
  readonly limits: Limits
  readonly providers: ReadonlyArray<ProviderConfig>
}): Effect.Effect<RouterStats> =>
  Effect.gen(function*() {
    const { state } = options
    const deployments = yield* Effect.forEach(options.deployments, (d) =>
      Effect.gen(function*() {
        const s = state.peek(d.ref)
        const circuit = yield* options.breakers.state(d)
        const limited = d.rpm !== undefined || d.tpm !== undefined
        const headroom = limited ? yield* options.limits.headroom(d) : undefined
        const requests = s?.requests ?? 0
        const errors = s?.errors ?? 0
        return {
          ref: d.ref,
          provider: d.provider,
          model: d.model,
          requests,
          errors,
          successRate: requests === 0 ? 1 : (requests - errors) / requests,
          avgLatencyMs: s !== undefined && s.latencyCount > 0 ? s.latencySumMs / s.latencyCount : undefined,
          circuit,
          rateLimit: headroom === undefined ? undefined : { rpm: d.rpm, tpm: d.tpm, ...headroom }
        } satisfies DeploymentStats
      }), { concurrency: 8 })

    const providers = options.providers.map((p): ProviderStats => {
      const mine = deployments.filter((d) => d.provider === p.name)
      const requests = mine.reduce((a, d) => a + d.requests, 0)
      const errors = mine.reduce((a, d) => a + d.errors, 0)
      const latencies = options.deployments
        .filter((d) => d.provider === p.name)
        .map((d) => state.peek(d.ref))
      const latSum = latencies.reduce((a, s) => a + (s?.latencySumMs ?? 0), 0)
      const latCount = latencies.reduce((a, s) => a + (s?.latencyCount ?? 0), 0)
      const open = mine.filter((d) => d.circuit === "open").length
      return {
        name: p.name,
        type: p.type,
        status: mine.length > 0 && open === mine.length ? "unavailable" : open > 0 ? "degraded" : "available",
        requests,
        errors,
        successRate: requests === 0 ? 1 : (requests - errors) / requests,
        avgLatencyMs: latCount > 0 ? latSum / latCount : undefined,
        availableRequests: sharedBudget(mine.map((d) => d.rateLimit?.availableRequests)),
        availableTokens: sharedBudget(mine.map((d) => d.rateLimit?.availableTokens))
      }
    })
    return { deployments, providers, failovers: state.failovers }
  })
