/**
 * `node src/profile/summarize.ts FILE.cpuprofile [N] [skipMs]`: the hot spots of a V8 CPU profile
 * (`node --cpu-prof`): self time per function (file:line), and self time per package/file, so
 * a profile of the gateway under load reads as a list of places to fix.
 */
import * as Fs from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly startTime: number
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface HotSpot {
  readonly where: string
  readonly ms: number
  readonly share: number
}

const shorten = (url: string): string => {
  const u = url.replace(/^file:\/\//, "")
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(u)
  if (pnpm !== null) return pnpm[1]
  const i = u.indexOf("/packages/")
  return i >= 0 ? u.slice(i + 1) : u === "" ? "(native)" : u
}

const packageOf = (where: string): string => {
  if (where.startsWith("packages/")) return where.split("/").slice(0, 2).join("/")
  if (where.startsWith("node:")) return where.split("/")[0]
  if (where.startsWith("(")) return where
  const parts = where.split("/")
  return parts[0].startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

const label = (f: CallFrame) => `${f.functionName || "(anonymous)"} ${shorten(f.url)}${f.url !== "" ? `:${f.lineNumber + 1}` : ""}`

/** `skipMs`: ignore the first samples (start-up: module loading and compilation). */
export const summarize = (profile: Profile, skipMs = 0) => {
  const self = new Map<number, number>()
  const parent = new Map<number, number>()
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const c of node.children ?? []) parent.set(c, node.id)
  }
  // Inclusive time of our own code (packages/*): each function counted once per sample.
  const inclusive = new Map<string, number>()
  let t = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    t += dt
    if (t < skipMs * 1000) continue
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + dt)
    const seen = new Set<string>()
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)?.callFrame
      if (f === undefined || !f.url.includes("/packages/") || f.url.includes("node_modules")) continue
      const key = label(f)
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt)
    }
  }
  // Shares are of busy time: idle samples say nothing about where the CPU went.
  let total = 0
  for (const [id, v] of self) if (byId.get(id)?.callFrame.functionName !== "(idle)") total += v
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  const byPackage = new Map<string, number>()
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0
    if (us === 0 || node.callFrame.functionName === "(idle)") continue
    const f = node.callFrame
    const file = shorten(f.url)
    const fn = label(f)
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    byFile.set(file, (byFile.get(file) ?? 0) + us)
    byPackage.set(packageOf(file), (byPackage.get(packageOf(file)) ?? 0) + us)
  }
  const top = (m: Map<string, number>, n: number): Array<HotSpot> =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([where, us]) => ({ where, ms: us / 1000, share: us / total }))
  return { totalMs: total / 1000, top, byFunction, byFile, byPackage, inclusive }
}

/** A text report of one profile. */
export const report = (profile: Profile, skipMs = 0, n = 30): string => {
  const s = summarize(profile, skipMs)
  const out: Array<string> = [`busy ${s.totalMs.toFixed(0)} ms sampled (idle excluded; first ${Math.round(skipMs)} ms skipped); shares are of busy time`]
  const print = (title: string, rows: Array<HotSpot>) => {
    out.push("", title)
    for (const r of rows) out.push(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.where}`)
  }
  print("self time by package", s.top(s.byPackage, 15))
  print("self time by function", s.top(s.byFunction, n))
  print("self time by file", s.top(s.byFile, 20))
  print("inclusive time, gateway code (packages/*; synchronous callers only)", s.top(s.inclusive, n))
  return out.join("\n")
}

/** Reports every `.cpuprofile` in a directory. */
export const summarizeProfiles = (dir: string, skipMs: number): string => {
  const files = Fs.existsSync(dir) ? Fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : []
  if (files.length === 0) return `no profile in ${dir} (the process did not exit gracefully)`
  return files.map((f) => `${f}\n${report(JSON.parse(Fs.readFileSync(`${dir}/${f}`, "utf8")) as Profile, skipMs)}`).join("\n\n")
}

if (import.meta.main) {
  const file = process.argv[2]
  process.stdout.write(`${report(JSON.parse(Fs.readFileSync(file, "utf8")) as Profile, Number(process.argv[4] ?? 0), Number(process.argv[3] ?? 30))}\n`)
}
