/**
 * Tokens and USD per provider, model, task and API key (scope): what the status endpoint and the
 * metrics report. In memory per instance; Prometheus aggregates across instances.
 */
import { Context, Effect, Layer } from "effect"
import { roundUsd } from "./Pricing.ts"

export interface UsageKey {
  readonly provider: string
  readonly model: string
  readonly task: string
  readonly scope: string
}

export interface UsageRow extends UsageKey {
  readonly requests: number
  readonly cachedRequests: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd: number
}

export interface UsageRecord extends UsageKey {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd: number
  readonly cached: boolean
}

interface MutableRow {
  provider: string
  model: string
  task: string
  scope: string
  requests: number
  cachedRequests: number
  promptTokens: number
  completionTokens: number
  costUsd: number
}

export class UsageAccounting extends Context.Service<UsageAccounting, {
  readonly record: (usage: UsageRecord) => Effect.Effect<void>
  readonly report: Effect.Effect<ReadonlyArray<UsageRow>>
}>()("@llm-gateway/core/UsageAccounting") {
  static readonly layerMemory = Layer.sync(UsageAccounting, () => {
    const rows = new Map<string, MutableRow>()
    return UsageAccounting.of({
      record: (u) =>
        Effect.sync(() => {
          const key = `${u.provider}\u0000${u.model}\u0000${u.task}\u0000${u.scope}`
          let row = rows.get(key)
          if (row === undefined) {
            row = { provider: u.provider, model: u.model, task: u.task, scope: u.scope, requests: 0, cachedRequests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
            rows.set(key, row)
          }
          row.requests++
          // A cache hit costs nothing upstream: count the request, not its tokens or dollars.
          if (u.cached) {
            row.cachedRequests++
            return
          }
          row.promptTokens += u.promptTokens
          row.completionTokens += u.completionTokens
          row.costUsd = roundUsd(row.costUsd + u.costUsd) // rounded per step: a long sum must not drift
        }),
      report: Effect.sync(() => Array.from(rows.values(), (r) => ({ ...r })))
    })
  })
}
