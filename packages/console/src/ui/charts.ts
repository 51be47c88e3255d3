/**
 * Hand-written SVG charts: a sparkline for the overview's time series and horizontal bars for
 * usage. A few hundred bytes of code instead of a charting library keeps `/ui` small. Each chart
 * carries a text summary (`aria-label`), so a screen reader hears the figures, not a picture.
 */
const NS = "http://www.w3.org/2000/svg"

const svg = (tag: string, attrs: Record<string, string | number>) => {
  const el = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  return el
}

export interface Series {
  readonly values: ReadonlyArray<number | null>
  readonly className: string
}

/** Lines over the same x axis (one point per sample), scaled to the largest value. */
export const sparkline = (series: ReadonlyArray<Series>, summary: string, width = 240, height = 48): SVGSVGElement => {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark", role: "img", "aria-label": summary }) as SVGSVGElement
  let max = 0
  let n = 0
  for (const s of series) {
    n = Math.max(n, s.values.length)
    for (const v of s.values) if (v !== null && v > max) max = v
  }
  root.append(svg("line", { x1: 0, y1: height - 1, x2: width, y2: height - 1, class: "axis" }))
  if (n < 2 || max === 0) return root
  const dx = width / (n - 1)
  for (const s of series) {
    let d = ""
    s.values.forEach((v, i) => {
      if (v === null) return
      const x = (i * dx).toFixed(1)
      const y = (height - 2 - (v / max) * (height - 6)).toFixed(1)
      d += `${d === "" ? "M" : "L"}${x} ${y}`
    })
    if (d !== "") root.append(svg("path", { d, class: s.className }))
  }
  return root
}

/** One bar per row, labelled, scaled to the largest value. */
export const bars = (rows: ReadonlyArray<{ readonly label: string; readonly value: number }>, summary: string, format: (n: number) => string) => {
  const rowH = 22
  const width = 480
  const labelW = 200
  const height = Math.max(rowH, rows.length * rowH)
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", role: "img", "aria-label": summary })
  const max = Math.max(0, ...rows.map((r) => r.value))
  rows.forEach((r, i) => {
    const y = i * rowH
    const w = max === 0 ? 0 : ((width - labelW - 100) * r.value) / max
    const label = svg("text", { x: 0, y: y + 15, class: "bar-label" })
    label.textContent = r.label.length > 28 ? `${r.label.slice(0, 27)}…` : r.label
    const value = svg("text", { x: labelW + w + 6, y: y + 15, class: "bar-value" })
    value.textContent = format(r.value)
    root.append(label, svg("rect", { x: labelW, y: y + 4, width: Math.max(1, w), height: rowH - 8, class: "bar" }), value)
  })
  return root
}
