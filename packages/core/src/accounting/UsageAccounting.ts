/**
 * Tokens and USD per provider, model, task and API key (scope): what the status endpoint and the
 * metrics report. In memory per instance; Prometheus aggregates across instances.
 *
 * Bounded: at most `maxRows` rows (10,000 by default). Past that, the least recently used row is
 * folded into its provider and model's `other` row (task and scope `other`), so totals stay
 * exact while a flood of tenants or tasks cannot grow the process. (The manager already maps
 * unknown task names to `general`; this bound is for everything else that varies per caller.)
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

/** Task and scope of the row that absorbs evicted rows. */
export const OTHER = "other"

export const DEFAULT_MAX_ROWS = 10_000

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
  static readonly layerMemory = Layer.sync(UsageAccounting, () => makeMemory())
  /** With another row bound (tests). */
  static readonly layerMemoryWith = (options: { readonly maxRows: number }) =>
    Layer.sync(UsageAccounting, () => makeMemory(options.maxRows))
}

const emptyRow = (provider: string, model: string, task: string, scope: string): MutableRow => ({
  provider, model, task, scope, requests: 0, cachedRequests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0
})

const makeMemory = (maxRows = DEFAULT_MAX_ROWS) => {
  // A Map iterates in insertion order: re-inserting a row on use keeps the least recently
  // used one first, which is the one evicted.
  const rows = new Map<string, MutableRow>()
  const other = new Map<string, MutableRow>()
  /**
   * The row used last: the last entry of `rows`, unless evicted since. A request like the last one
   * (the common case) is counted without building its key.
   */
  let newestRow: MutableRow | undefined
  const evictOldest = () => {
    const oldest = rows.entries().next()
    if (oldest.done === true) return
    const [key, row] = oldest.value
    rows.delete(key)
    if (row === newestRow) newestRow = undefined
    const otherKey = `${row.provider}\u0000${row.model}`
    let sink = other.get(otherKey)
    if (sink === undefined) {
      sink = emptyRow(row.provider, row.model, OTHER, OTHER)
      other.set(otherKey, sink)
    }
    sink.requests += row.requests
    sink.cachedRequests += row.cachedRequests
    sink.promptTokens += row.promptTokens
    sink.completionTokens += row.completionTokens
    sink.costUsd = roundUsd(sink.costUsd + row.costUsd)
  }
  return UsageAccounting.of({
    record: (u) =>
      Effect.sync(() => {
        let row = newestRow
        if (row === undefined || row.provider !== u.provider || row.model !== u.model || row.task !== u.task || row.scope !== u.scope) {
          const key = `${u.provider}\u0000${u.model}\u0000${u.task}\u0000${u.scope}`
          row = rows.get(key)
          if (row === undefined) {
            if (rows.size >= maxRows) evictOldest()
            row = emptyRow(u.provider, u.model, u.task, u.scope)
            rows.set(key, row)
          } else {
            // moved to the end (most recently used): it is not the row used last, which is there
            rows.delete(key)
            rows.set(key, row)
          }
          newestRow = row
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
    report: Effect.sync(() => [...Array.from(rows.values(), (r) => ({ ...r })), ...Array.from(other.values(), (r) => ({ ...r }))])
  })
}
