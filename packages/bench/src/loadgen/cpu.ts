/** Per-core busy time from /proc/stat, to show which core limited a trial. */
import * as Fs from "node:fs"

export type CpuTimes = ReadonlyArray<{ readonly busy: number; readonly total: number }>

export const cpuTimes = (): CpuTimes => {
  try {
    return Fs.readFileSync("/proc/stat", "utf8").split("\n")
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => {
        const f = l.trim().split(/\s+/).slice(1).map(Number)
        const idle = f[3] + (f[4] ?? 0)
        const total = f.reduce((a, b) => a + b, 0)
        return { busy: total - idle, total }
      })
  } catch {
    return []
  }
}

/** Busy share (0..1) of each core between two readings. */
export const busyBetween = (a: CpuTimes, b: CpuTimes): Array<number> =>
  b.map((t, i) => {
    const dt = t.total - (a[i]?.total ?? 0)
    return dt > 0 ? (t.busy - (a[i]?.busy ?? 0)) / dt : Number.NaN
  })
