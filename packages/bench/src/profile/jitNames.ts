/**
 * Instructions per JavaScript function from a callgrind dump. Callgrind names JIT code only by
 * address (`???:0x…`); Node started with `--perf-basic-prof` writes `/tmp/perf-<pid>.map` (start,
 * size, name of every code object it emits), and each address is looked up there. Builtins and
 * C++ (JSON, GC, the IC stubs) keep callgrind's own names.
 *
 *   node src/profile/jitNames.ts CALLGRIND_FILE [N]     (or `instructions.ts --jit-names N`)
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"

interface CodeRange {
  readonly start: number
  readonly end: number
  readonly name: string
}

const codeRanges = (pid: string): Array<CodeRange> => {
  const out: Array<CodeRange> = []
  for (const line of Fs.readFileSync(`/tmp/perf-${pid}.map`, "utf8").split("\n")) {
    const [start, size, ...name] = line.split(" ")
    if (name.length === 0) continue
    const s = Number.parseInt(start, 16)
    out.push({ start: s, end: s + Number.parseInt(size, 16), name: name.join(" ").replace(/^(JS:|LazyCompile:)?[*~+^]?/, "") })
  }
  return out.sort((a, b) => a.start - b.start)
}

/** The range holding `address` (the last one starting at or before it), or undefined. */
const lookup = (ranges: ReadonlyArray<CodeRange>, address: number): CodeRange | undefined => {
  let lo = 0
  let hi = ranges.length - 1
  let found: CodeRange | undefined
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (ranges[mid].start <= address) {
      found = ranges[mid]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found !== undefined && address < found.end ? found : undefined
}

/** Instructions by function: JIT code by its JavaScript name, everything else as callgrind names it. */
export const functionCosts = (callgrindFile: string): Map<string, number> => {
  const head = Fs.readFileSync(callgrindFile, "utf8").slice(0, 4096)
  const pid = /^pid: (\d+)/m.exec(head)?.[1]
  const ranges = pid !== undefined && Fs.existsSync(`/tmp/perf-${pid}.map`) ? codeRanges(pid) : []
  const annotated = spawnSync("callgrind_annotate", ["--threshold=100", callgrindFile], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }).stdout
  const costs = new Map<string, number>()
  for (const line of annotated.split("\n")) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line)
    if (m === null || m[2].includes("PROGRAM TOTALS")) continue
    const n = Number(m[1].replaceAll(",", ""))
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(m[2])
    const name = jit !== null
      ? `js ${lookup(ranges, Number.parseInt(jit[1], 16))?.name ?? "(unmapped JIT code)"}`
      : m[2].replace(/ \[[^\]]*\]$/, "").replace(/^\?\?\?:/, "").slice(0, 140)
    costs.set(name, (costs.get(name) ?? 0) + n)
  }
  return costs
}

export const topFunctions = (callgrindFile: string, perCall: number, n: number): string =>
  [...functionCosts(callgrindFile)]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, count]) => `${Math.round(count / perCall).toString().padStart(9)}  ${name}`)
    .join("\n")

if (import.meta.main) {
  const [file, n] = process.argv.slice(2)
  process.stdout.write(`${topFunctions(file, 1, Number(n ?? 40))}\n`)
}
