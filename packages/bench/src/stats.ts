/** Percentiles and summaries shared by the load generator and the report. */

export interface LatencySummary {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p75: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

/** Nearest-rank percentile of an ascending array (q in 0..1). */
export const percentile = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]
}

export const summarize = (values: ArrayLike<number>): LatencySummary => {
  const sorted = Float64Array.from(values).sort()
  let sum = 0
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 0.5),
    p75: percentile(sorted, 0.75),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]
  }
}

export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
  readonly n: number
}

/** min / median / max over runs, ignoring NaN (a run that produced nothing). */
export const spread = (values: ReadonlyArray<number>): Spread => {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, n: 0 }
  const mid = v.length >> 1
  const median = v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
  return { min: v[0], median, max: v[v.length - 1], n: v.length }
}

/** Growable float buffer: latencies are recorded without per-sample allocation. */
export class Samples {
  private buf = new Float64Array(4096)
  length = 0
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = x
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length)
  }
}
