import { describe, expect, it } from "vitest"
import { latencyChart } from "../src/report/svg.ts"
import { BEGIN, END, spliceSection } from "../src/report/writeReports.ts"
import { percentile, spread, summarize } from "../src/stats.ts"

describe("stats", () => {
  it("nearest-rank percentiles", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(sorted, 0.5)).toBe(50)
    expect(percentile(sorted, 0.99)).toBe(99)
    expect(percentile(sorted, 1)).toBe(100)
    expect(summarize([3, 1, 2]).p50).toBe(2)
    expect(Number.isNaN(percentile(new Float64Array(0), 0.5))).toBe(true)
  })

  it("min / median / max over runs, ignoring runs that produced nothing", () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3, n: 3 })
    expect(spread([4, 1, Number.NaN, 2, 3]).median).toBe(2.5)
    expect(spread([]).n).toBe(0)
  })
})

describe("notes section", () => {
  it("replaces only the generated section, keeping the lead's text around it", () => {
    const doc = `# Benchmarks\n\nintro\n\n${BEGIN}\nold figures\n${END}\n\n## Routing (merged)\nkeep me\n`
    const out = spliceSection(doc, "new figures")
    expect(out).toContain("intro")
    expect(out).toContain("## Routing (merged)\nkeep me")
    expect(out).toContain("new figures")
    expect(out).not.toContain("old figures")
    expect(spliceSection(out, "newer")).not.toContain("new figures")
  })

  it("appends a section to a document that has none", () => {
    const out = spliceSection("# Benchmarks\n\nhand-written\n", "figures")
    expect(out.startsWith("# Benchmarks\n\nhand-written\n")).toBe(true)
    expect(out).toContain(`${BEGIN}\nfigures\n${END}`)
  })
})

describe("latency chart", () => {
  it("draws one line and one legend entry per competitor, skipping missing points", () => {
    const svg = latencyChart({
      title: "t",
      subtitle: "s",
      percentiles: ["p50", "p99"],
      series: [
        { label: "raw <proxy>", values: [0.4, 2] },
        { label: "gateway", values: [0.6, Number.NaN] }
      ]
    })
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg.match(/<polyline/g)).toHaveLength(2)
    expect(svg.match(/<circle/g)).toHaveLength(3)
    expect(svg).toContain("raw &lt;proxy&gt;")
    expect(svg).not.toContain("NaN")
  })
})
