/**
 * Overview: providers and deployments with health, circuit state, rate-limit headroom, latency
 * p50/p99 and error rate over the last minute, and time series (requests, spend, cache hit
 * rate, latency, errors) — polled from `/api/v1/llm/status` and `/metrics` every 2 s. Rates
 * are differences between polls, so they show what the gateway is doing now.
 */
import { getJson, request } from "./api.ts"
import { sparkline } from "./charts.ts"
import { fmt, h, replace } from "./dom.ts"
import { diff, type Histogram, latencyHistograms, quantile } from "./metrics.ts"

export const POLL_MS = 2000
const KEEP = 150 // 5 minutes of samples
const WINDOW_MS = 60_000

interface ProviderStatus {
  readonly type: string
  readonly status: string
  readonly total_requests: number
  readonly errors: number
  readonly avg_latency_ms: number | null
  readonly circuit_state: string
}
interface ModelStatus {
  readonly id: string
  readonly provider: string
  readonly total_requests: number
  readonly errors: number
  readonly avg_latency_ms: number | null
  readonly circuit_state: string
  readonly rate_limit: { rpm: number | null; tpm: number | null; available_requests: number | null; available_tokens: number | null } | null
}
export interface Status {
  readonly providers: Record<string, ProviderStatus>
  readonly models: ReadonlyArray<ModelStatus>
  readonly cache?: { readonly size?: number; readonly hit_rate?: number; readonly hits?: number; readonly misses?: number }
  readonly usage?: { readonly requests?: number; readonly cost_usd?: number }
  readonly failovers?: number
  readonly uptime_seconds?: number
}

interface Sample {
  readonly t: number
  readonly status: Status
  readonly hist: Map<string, Histogram>
}

const sum = (xs: Iterable<number>) => {
  let s = 0
  for (const x of xs) s += x
  return s
}
const requestsOf = (s: Status) => sum(s.models.map((m) => m.total_requests))
const errorsOf = (s: Status) => sum(s.models.map((m) => m.errors))
const totalHist = (hist: Map<string, Histogram>): Histogram | undefined => {
  let out: Array<[number, number]> | undefined
  for (const hg of hist.values()) {
    if (out === undefined) out = hg.buckets.map(([le, c]) => [le, c])
    else hg.buckets.forEach(([, c], i) => out![i] !== undefined && (out![i][1] += c))
  }
  return out === undefined ? undefined : { buckets: out }
}

/** Per-interval figures between two samples (null when there is nothing to divide by). */
const interval = (a: Sample, b: Sample) => {
  const minutes = (b.t - a.t) / 60_000
  const req = requestsOf(b.status) - requestsOf(a.status)
  const err = errorsOf(b.status) - errorsOf(a.status)
  const hits = (b.status.cache?.hits ?? 0) - (a.status.cache?.hits ?? 0)
  const misses = (b.status.cache?.misses ?? 0) - (a.status.cache?.misses ?? 0)
  const lat = (() => {
    const now = totalHist(b.hist)
    return now === undefined ? undefined : diff(now, totalHist(a.hist))
  })()
  return {
    rpm: minutes > 0 ? req / minutes : null,
    spend: minutes > 0 ? ((b.status.usage?.cost_usd ?? 0) - (a.status.usage?.cost_usd ?? 0)) / minutes : null,
    hitRate: hits + misses > 0 ? hits / (hits + misses) : null,
    errorRate: req > 0 ? err / req : null,
    p50: lat === undefined ? null : quantile(lat, 0.5),
    p99: lat === undefined ? null : quantile(lat, 0.99)
  }
}

const badge = (text: string, tone: string) => h("span", { class: `badge ${tone}` }, text)
const circuitBadge = (state: string) =>
  badge(state === "half_open" || state === "half-open" ? "half-open" : state, state === "closed" ? "ok" : state === "open" ? "bad" : "warn")
const healthBadge = (status: string) => badge(status, status === "available" ? "ok" : status === "unavailable" ? "bad" : "warn")

const headroom = (m: ModelStatus) => {
  const r = m.rate_limit
  if (r === null) return "no limit"
  const parts: Array<string> = []
  if (r.rpm !== null) parts.push(`${fmt.int(r.available_requests)} / ${fmt.int(r.rpm)} rpm`)
  if (r.tpm !== null) parts.push(`${fmt.int(r.available_tokens)} / ${fmt.int(r.tpm)} tpm`)
  return parts.length === 0 ? "no limit" : parts.join(" · ")
}

const chart = (title: string, series: ReadonlyArray<{ values: Array<number | null>; className: string; name: string }>, format: (n: number | null) => string) => {
  const latest = series.map((s) => `${s.name} ${format(s.values.findLast((v) => v !== null) ?? null)}`).join(", ")
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, h("span", {}, title), h("strong", {}, latest)),
    sparkline(series, `${title}, last 5 minutes: now ${latest}`)
  )
}

/** Mounts the view; returns the function that stops its polling. */
export const mountOverview = (root: HTMLElement): (() => void) => {
  const samples: Array<Sample> = []
  const live = h("p", { class: "sr-only", "aria-live": "polite" })
  const summary = h("div", { class: "tiles" })
  const charts = h("div", { class: "charts" })
  const providers = h("div", { class: "table-wrap" })
  const deployments = h("div", { class: "table-wrap" })
  const updated = h("p", { class: "muted", id: "updated" }, "Waiting for the first figures…")
  replace(
    root,
    h("h1", {}, "Overview"),
    updated,
    live,
    summary,
    h("h2", {}, "Providers"),
    providers,
    h("h2", {}, "Deployments"),
    h("p", { class: "muted" }, "Latency and error rate over the last minute (since the page opened, until a minute has passed)."),
    deployments,
    h("h2", {}, "Last 5 minutes"),
    charts
  )
  let openBefore = new Set<string>()
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined

  const render = () => {
    const now = samples.at(-1)!
    const s = now.status
    const base = samples.find((x) => now.t - x.t <= WINDOW_MS && x !== now) ?? undefined
    const last = samples.length > 1 ? interval(samples.at(-2)!, now) : undefined
    replace(
      summary,
      tile("Requests / min", last?.rpm == null ? "–" : fmt.int(last.rpm)),
      tile("Spend / min", last?.spend == null ? "–" : fmt.usd(last.spend)),
      tile("Cache hit rate", fmt.pct(s.cache?.hit_rate)),
      tile("Requests (total)", fmt.int(s.usage?.requests ?? requestsOf(s))),
      tile("Spend (total)", fmt.usd(s.usage?.cost_usd)),
      tile("Failovers", fmt.int(s.failovers))
    )
    replace(
      providers,
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Providers"),
        h("thead", {}, h("tr", {}, ["Provider", "Type", "Health", "Circuit", "Requests", "Errors", "Avg latency"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          Object.entries(s.providers).map(([name, p]) =>
            h(
              "tr",
              { "data-provider": name },
              h("th", { scope: "row" }, name),
              h("td", {}, p.type),
              h("td", { class: "health" }, healthBadge(p.status)),
              h("td", { class: "circuit" }, circuitBadge(p.circuit_state)),
              h("td", { class: "num" }, fmt.int(p.total_requests)),
              h("td", { class: "num" }, fmt.int(p.errors)),
              h("td", { class: "num" }, fmt.ms(p.avg_latency_ms))
            )
          )
        )
      )
    )
    replace(
      deployments,
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Deployments"),
        h("thead", {}, h("tr", {}, ["Deployment", "Circuit", "Headroom", "p50", "p99", "Error rate"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          s.models.map((m) => {
            const hist = now.hist.get(m.id)
            const win = hist === undefined ? undefined : diff(hist, base?.hist.get(m.id))
            const before = base?.status.models.find((x) => x.id === m.id)
            const req = m.total_requests - (before?.total_requests ?? 0)
            const err = m.errors - (before?.errors ?? 0)
            return h(
              "tr",
              { "data-model": m.id },
              h("th", { scope: "row" }, m.id),
              h("td", { class: "circuit" }, circuitBadge(m.circuit_state)),
              h("td", {}, headroom(m)),
              h("td", { class: "num" }, fmt.ms(win === undefined ? null : quantile(win, 0.5))),
              h("td", { class: "num" }, fmt.ms(win === undefined ? null : quantile(win, 0.99))),
              h("td", { class: "num" }, req > 0 ? fmt.pct(err / req) : "–")
            )
          })
        )
      )
    )
    const per = samples.slice(1).map((x, i) => interval(samples[i], x))
    replace(
      charts,
      chart("Requests / min", [{ name: "rpm", className: "s1", values: per.map((p) => p.rpm) }], (n) => fmt.int(n)),
      chart("Spend / min", [{ name: "USD", className: "s2", values: per.map((p) => p.spend) }], fmt.usd),
      chart("Cache hit rate", [{ name: "hits", className: "s3", values: per.map((p) => p.hitRate) }], fmt.pct),
      chart("Latency", [
        { name: "p50", className: "s1", values: per.map((p) => p.p50) },
        { name: "p99", className: "s4", values: per.map((p) => p.p99) }
      ], fmt.ms),
      chart("Error rate", [{ name: "errors", className: "s4", values: per.map((p) => p.errorRate) }], fmt.pct)
    )
    const open = new Set(s.models.filter((m) => m.circuit_state === "open").map((m) => m.id))
    const newly = [...open].filter((m) => !openBefore.has(m))
    if (newly.length > 0) live.textContent = `Circuit open: ${newly.join(", ")}`
    openBefore = open
    updated.textContent = `Updated ${new Date(now.t).toLocaleTimeString()} · every ${POLL_MS / 1000} s · up ${fmt.int(s.uptime_seconds)} s`
  }

  const poll = async () => {
    try {
      const [status, metricsText] = await Promise.all([
        getJson<Status>("/api/v1/llm/status"),
        // /metrics may need a key (server.metricsAuth) or be absent: the charts then lack latency
        request("/metrics").then((r) => r.text(), () => "")
      ])
      if (stopped) return
      samples.push({ t: Date.now(), status, hist: latencyHistograms(metricsText) })
      if (samples.length > KEEP) samples.shift()
      render()
    } catch (e) {
      if (!stopped) updated.textContent = `Could not read the gateway's status: ${(e as Error).message}`
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS)
  }
  void poll()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

const tile = (label: string, value: string) => h("div", { class: "tile" }, h("span", {}, label), h("strong", {}, value))
