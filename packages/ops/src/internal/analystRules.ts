/**
 * The analyst without a model: fixed thresholds per well-known metric (the snapshot's
 * `cpu_percent`, `memory_percent`, `latency_ms`, `packet_loss`, …), a linear trend for
 * predictions, and the lowest-risk action for healing. Deliberately conservative: with no LLM
 * to weigh a risky action, the gateway never picks one it need not.
 */
export type Level = "low" | "medium" | "high"

export interface Anomaly {
  readonly metric: string
  readonly value: number
  readonly expected: string
  readonly severity: Level
}

/** [warn, critical] upper bounds; a metric matches by exact name or by its suffix/stem. */
const THRESHOLDS: ReadonlyArray<readonly [RegExp, number, number, string]> = [
  [/cpu/i, 80, 95, "%"],
  [/mem/i, 85, 95, "%"],
  [/disk|filesystem|storage/i, 85, 95, "%"],
  [/latency|response_time|duration/i, 250, 1000, "ms"],
  [/packet_loss|loss/i, 1, 5, "%"],
  [/error_rate|errors?_ratio/i, 0.01, 0.05, ""],
  [/queue|backlog/i, 1000, 10000, ""],
  [/restarts?/i, 3, 10, ""]
]

const thresholdOf = (metric: string) => THRESHOLDS.find(([re]) => re.test(metric))

export const findAnomalies = (metrics: Readonly<Record<string, number>>): ReadonlyArray<Anomaly> => {
  const out: Array<Anomaly> = []
  for (const [metric, value] of Object.entries(metrics)) {
    const t = thresholdOf(metric)
    if (t === undefined || typeof value !== "number" || !Number.isFinite(value)) continue
    const [, warn, crit, unit] = t
    if (value >= crit) out.push({ metric, value, expected: `< ${warn}${unit}`, severity: "high" })
    else if (value >= warn) out.push({ metric, value, expected: `< ${warn}${unit}`, severity: "medium" })
  }
  return out
}

const RECOMMEND: ReadonlyArray<readonly [RegExp, string]> = [
  [/cpu/i, "Scale out or throttle the heaviest clients"],
  [/mem/i, "Check for a memory leak; raise limits or restart the leaking process"],
  [/disk|filesystem|storage/i, "Free or grow the volume"],
  [/latency|response_time|duration/i, "Check downstream dependencies and saturation"],
  [/packet_loss|loss/i, "Check links and interfaces on the affected path"],
  [/error/i, "Inspect recent deployments and error logs"],
  [/queue|backlog/i, "Add consumers or shed load"],
  [/restart/i, "Read the crashing process's logs before it restarts again"]
]

export const analyze = (metrics: Readonly<Record<string, number>>) => {
  const anomalies = findAnomalies(metrics)
  const penalty = anomalies.reduce((s, a) => s + (a.severity === "high" ? 0.35 : 0.15), 0)
  const healthScore = Math.max(0, Math.round((1 - penalty) * 100) / 100)
  const recommendations = [...new Set(anomalies.map((a) => RECOMMEND.find(([re]) => re.test(a.metric))?.[1] ?? `Investigate ${a.metric}`))]
  const summary = anomalies.length === 0
    ? `All ${Object.keys(metrics).length} metrics within thresholds`
    : `${anomalies.length} metric(s) outside thresholds: ${anomalies.map((a) => `${a.metric}=${a.value}`).join(", ")}`
  return { summary, anomalies, recommendations, healthScore }
}

// Words that make an action riskier (restarting or cutting traffic) or safer (observe, throttle).
const HIGH = /restart|reboot|kill|failover|isolate|rollback|delete|drain|evict|shutdown|stop|terminate|reset|migrate/i
const MEDIUM = /scale|throttl|rate.?limit|reroute|redirect|switch|resize|reload|flush|clear/i

export const riskOf = (action: string): Level => (HIGH.test(action) ? "high" : MEDIUM.test(action) ? "medium" : "low")

const RANK: Record<Level, number> = { low: 0, medium: 1, high: 2 }

/** The lowest-risk action of those offered (the first of equals): the safe default. */
export const safestAction = (actions: ReadonlyArray<string>): string =>
  actions.reduce((best, a) => (RANK[riskOf(a)] < RANK[riskOf(best)] ? a : best), actions[0])

export interface Prediction {
  readonly metric: string
  readonly horizon: string
  readonly likelihood: number
  readonly reasoning: string
}

/** A least-squares line per metric over the samples, projected `horizon` samples ahead. */
export const predict = (history: ReadonlyArray<Readonly<Record<string, number>>>, horizon = 5): ReadonlyArray<Prediction> => {
  const metrics = new Set(history.flatMap((h) => Object.keys(h)))
  const out: Array<Prediction> = []
  for (const metric of metrics) {
    const t = thresholdOf(metric)
    const ys = history.map((h) => h[metric]).filter((v): v is number => typeof v === "number" && Number.isFinite(v))
    if (t === undefined || ys.length < 3) continue
    const n = ys.length
    const mx = (n - 1) / 2
    const my = ys.reduce((s, y) => s + y, 0) / n
    let num = 0
    let den = 0
    ys.forEach((y, x) => {
      num += (x - mx) * (y - my)
      den += (x - mx) ** 2
    })
    const slope = den === 0 ? 0 : num / den
    const projected = my + slope * (n - 1 - mx + horizon)
    const warn = t[1]
    if (slope <= 0 || projected < warn) continue
    const last = ys[n - 1]
    const likelihood = Math.min(0.95, Math.round((0.5 + 0.45 * Math.min(1, (projected - warn) / Math.max(warn, 1e-9))) * 100) / 100)
    out.push({
      metric,
      horizon: `${horizon} samples`,
      likelihood,
      reasoning: `${metric} rises ${slope.toFixed(2)} per sample (now ${last}); projected ${projected.toFixed(1)} crosses ${warn}`
    })
  }
  return out
}
