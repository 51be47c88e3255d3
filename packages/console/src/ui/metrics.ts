/**
 * Reads the gateway's Prometheus text: the latency histograms (`llm_provider_latency_ms`) per
 * deployment, from which the overview takes p50/p99 over a window as the difference of two
 * scrapes — what the last minutes did, not the average since start.
 */
export interface Histogram {
  /** Cumulative counts by upper bound (`le`), ascending; the last bound is Infinity. */
  readonly buckets: ReadonlyArray<readonly [number, number]>
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Latency histograms by `provider/model`. */
export const latencyHistograms = (text: string): Map<string, Histogram> => {
  const acc = new Map<string, Array<[number, number]>>()
  for (const raw of text.split("\n")) {
    if (!raw.startsWith("llm_provider_latency_ms_bucket")) continue
    const m = line.exec(raw)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of m[2].matchAll(label)) labels[l[1]] = l[2]
    const ref = `${labels.provider}/${labels.model}`
    const le = labels.le === "+Inf" ? Infinity : Number(labels.le)
    const list = acc.get(ref) ?? []
    list.push([le, Number(m[3])])
    acc.set(ref, list)
  }
  const out = new Map<string, Histogram>()
  for (const [ref, list] of acc) out.set(ref, { buckets: list.sort((a, b) => a[0] - b[0]) })
  return out
}

/** `now − before`, bucket by bucket (a missing earlier scrape counts as zero). */
export const diff = (now: Histogram, before: Histogram | undefined): Histogram => ({
  buckets: now.buckets.map(([le, c], i) => [le, c - (before?.buckets[i]?.[1] ?? 0)] as const)
})

/** The q-quantile, interpolated inside its bucket (as Prometheus' histogram_quantile does). */
export const quantile = (h: Histogram, q: number): number | null => {
  const total = h.buckets.at(-1)?.[1] ?? 0
  if (total <= 0) return null
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const [le, count] of h.buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe
      const inBucket = count - prevCount
      return inBucket <= 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket
    }
    prevLe = le
    prevCount = count
  }
  return prevLe
}
