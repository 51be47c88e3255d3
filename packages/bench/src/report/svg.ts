/**
 * The latency chart, written by hand (no dependencies): one line per competitor over the
 * percentiles p50 … p99.9 of the 200 requests/s scenario, on a log-scaled millisecond axis.
 */

export interface Series {
  readonly label: string
  /** Values in ms, one per percentile label (NaN = missing). */
  readonly values: ReadonlyArray<number>
}

const COLORS = ["#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#1f78b4", "#66a61e", "#a6761d", "#666666"]

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const niceTicks = (lo: number, hi: number): Array<number> => {
  const ticks: Array<number> = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v)
    }
  }
  return ticks
}

const tickLabel = (v: number) => (v >= 1 ? String(Math.round(v)) : v.toPrecision(1))

export const latencyChart = (options: {
  readonly title: string
  readonly subtitle: string
  readonly percentiles: ReadonlyArray<string>
  readonly series: ReadonlyArray<Series>
}): string => {
  const width = 860
  const height = 440
  const m = { left: 70, right: 250, top: 64, bottom: 56 }
  const pw = width - m.left - m.right
  const ph = height - m.top - m.bottom
  const all = options.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0)
  const lo = all.length > 0 ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.1
  const hi = all.length > 0 ? 10 ** Math.ceil(Math.log10(Math.max(...all))) : 10
  const y = (v: number) => m.top + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph
  const n = options.percentiles.length
  const x = (i: number) => m.left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw)

  const out: Array<string> = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`)
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="${m.left}" y="24" font-size="16" font-weight="bold">${esc(options.title)}</text>`)
  out.push(`<text x="${m.left}" y="44" fill="#555">${esc(options.subtitle)}</text>`)
  for (const t of niceTicks(lo, hi)) {
    const ty = y(t).toFixed(1)
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${ty}" y2="${ty}" stroke="#e3e3e3"/>`)
    out.push(`<text x="${m.left - 8}" y="${ty}" text-anchor="end" dominant-baseline="middle" fill="#444">${tickLabel(t)}</text>`)
  }
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#444">latency, ms (log scale)</text>`)
  options.percentiles.forEach((p, i) => {
    out.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`)
    out.push(`<text x="${x(i).toFixed(1)}" y="${m.top + ph + 20}" text-anchor="middle" fill="#444">${esc(p)}</text>`)
  })
  out.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle" fill="#444">percentile</text>`)
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`)
  options.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]
    const pts = s.values.map((v, i) => (Number.isFinite(v) && v > 0 ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : undefined))
    const path = pts.filter((p) => p !== undefined).join(" ")
    if (path !== "") out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`)
    for (const p of pts) {
      if (p === undefined) continue
      const [cx, cy] = p.split(",")
      out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`)
    }
    const ly = m.top + 10 + k * 22
    out.push(`<line x1="${m.left + pw + 16}" x2="${m.left + pw + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`)
    out.push(`<text x="${m.left + pw + 46}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}
