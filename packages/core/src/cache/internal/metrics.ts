/**
 * The cache's Prometheus series (notes/http-api.md): `llm_cache_hits_total`, `llm_cache_misses_total`
 * and `llm_cache_hit_rate` per provider, plus the L2 error counter (the Redis-down signal).
 * Series are created once per provider (a bounded set, from config) and updated with
 * `updateUnsafe` against the calling fiber's context, so the hit path stays one Effect step.
 */
import { type Context, Metric } from "effect"
import * as GatewayMetrics from "../../metrics/GatewayMetrics.ts"

export const cacheL2ErrorsTotal = Metric.counter("llm_cache_l2_errors_total", {
  description: "Calls to the shared L2 cache (Redis) that failed or timed out; each was served without it",
  incremental: true
})

interface ProviderSeries {
  hits: number
  misses: number
  readonly hitsTotal: Metric.Metric<number, unknown>
  readonly missesTotal: Metric.Metric<number, unknown>
  readonly hitRate: Metric.Metric<number, unknown>
}

export const makeCacheMetrics = () => {
  const series = new Map<string, ProviderSeries>()
  const seriesFor = (provider: string): ProviderSeries => {
    let found = series.get(provider)
    if (found === undefined) {
      const labels = { provider }
      found = {
        hits: 0,
        misses: 0,
        hitsTotal: Metric.withAttributes(GatewayMetrics.cacheHitsTotal, labels),
        missesTotal: Metric.withAttributes(GatewayMetrics.cacheMissesTotal, labels),
        hitRate: Metric.withAttributes(GatewayMetrics.cacheHitRate, labels)
      }
      series.set(provider, found)
    }
    return found
  }
  /** Counts a hit or a miss for `provider` in the registry of `context` (the caller's fiber). */
  const observeUnsafe = (provider: string, hit: boolean, context: Context.Context<never>): void => {
    const s = seriesFor(provider)
    if (hit) s.hits++
    else s.misses++
    ;(hit ? s.hitsTotal : s.missesTotal).updateUnsafe(1, context)
    s.hitRate.updateUnsafe(s.hits / (s.hits + s.misses), context)
  }
  return { observeUnsafe }
}
