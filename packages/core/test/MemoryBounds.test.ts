/**
 * What a caller can vary (tenants, label values) must not grow the process without bound:
 * usage rows are evicted least-recently-used into an `other` row, metric series past the cap
 * share an `other` series.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { labelled } from "../src/metrics/GatewayMetrics.ts"
import { UsageAccounting } from "../src/accounting/UsageAccounting.ts"

const record = (scope: string, promptTokens = 10) =>
  Effect.flatMap(UsageAccounting, (u) =>
    u.record({ provider: "openai", model: "gpt-4o-mini", task: "general", scope, promptTokens, completionTokens: 5, costUsd: 0.01, cached: false }))

describe("UsageAccounting", () => {
  it.effect("keeps at most maxRows rows; evicted tenants are folded into `other`, totals stay exact", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) yield* record(`tenant-${i}`)
      yield* record("tenant-0") // recently used again: survives the next evictions
      for (let i = 50; i < 60; i++) yield* record(`tenant-${i}`)
      const rows = yield* Effect.flatMap(UsageAccounting, (u) => u.report)
      expect(rows.length).toBeLessThanOrEqual(21) // 20 rows + one `other` per provider/model
      expect(rows.map((r) => r.scope)).toContain("tenant-0")
      expect(rows.map((r) => r.scope)).not.toContain("tenant-1")
      const other = rows.find((r) => r.scope === "other")!
      expect(other).toMatchObject({ provider: "openai", model: "gpt-4o-mini", task: "other" })
      expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(61)
      expect(rows.reduce((n, r) => n + r.promptTokens, 0)).toBe(610)
      expect(rows.reduce((n, r) => n + r.costUsd, 0)).toBeCloseTo(0.61, 10)
    }).pipe(Effect.provide(UsageAccounting.layerMemoryWith({ maxRows: 20 }))))
})

describe("GatewayMetrics.labelled", () => {
  it.effect("past maxSeries, new label sets are counted in one `other` series", () =>
    Effect.gen(function*() {
      const name = `test_bounded_total_${Math.random().toString(36).slice(2)}`
      const series = labelled(Metric.counter(name, { incremental: true }), 5)
      for (let i = 0; i < 100; i++) yield* Metric.update(series({ provider: `p${i}`, model: "m" }), 1)
      yield* Metric.update(series({ provider: "p0", model: "m" }), 1)
      const mine = (yield* Metric.snapshot).filter((s) => s.id === name)
      expect(mine).toHaveLength(6)
      const other = mine.find((s) => s.attributes?.provider === "other")
      expect(other?.attributes).toEqual({ provider: "other", model: "other" })
      expect(other?.state).toMatchObject({ count: 95 })
      expect(mine.find((s) => s.attributes?.provider === "p0")?.state).toMatchObject({ count: 2 })
    }))
})
