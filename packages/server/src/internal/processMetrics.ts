/**
 * The process metrics every Prometheus exporter offers, under the names of prom-client's and the
 * Go client's default collectors (dashboards and alerts written for any exporter work as is).
 * Read at scrape time: nothing runs between scrapes.
 */
import { readdirSync, readFileSync } from "node:fs"
import { Effect } from "effect"

interface Family {
  readonly name: string
  readonly type: "counter" | "gauge"
  readonly help: string
  readonly value: number
}

/** Descriptors open now (Linux: the entries of /proc/self/fd); undefined elsewhere. */
const openFds = (): number | undefined => {
  try {
    // the directory handle readdir opens is one of the entries: not the process's own
    return readdirSync("/proc/self/fd").length - 1
  } catch {
    return undefined
  }
}

/** The soft limit on open descriptors (Linux: /proc/self/limits); undefined elsewhere or unlimited. */
const maxFds = (): number | undefined => {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))
    const soft = line === undefined ? Number.NaN : Number(line.slice("Max open files".length).trim().split(/\s+/)[0])
    return Number.isFinite(soft) ? soft : undefined
  } catch {
    return undefined
  }
}

/**
 * Event-loop lag as prom-client measures it: how late a `setImmediate` scheduled now runs, in
 * seconds. Under load the scrape's own callback waits behind the queued work, which is the point.
 */
const eventLoopLag: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const start = performance.now()
  const handle = setImmediate(() => resume(Effect.succeed((performance.now() - start) / 1000)))
  return Effect.sync(() => clearImmediate(handle))
})

const render = (families: ReadonlyArray<Family>): string => {
  let out = ""
  for (const f of families) out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.name} ${f.value}\n`
  return out
}

/** Prometheus text of the process families, each with HELP and TYPE. */
export const processMetricsText: Effect.Effect<string> = Effect.map(eventLoopLag, (lag) => {
  const cpu = process.cpuUsage()
  const families: Array<Family> = [
    { name: "process_cpu_seconds_total", type: "counter", help: "Total user and system CPU time spent in seconds.", value: (cpu.user + cpu.system) / 1e6 },
    { name: "process_resident_memory_bytes", type: "gauge", help: "Resident memory size in bytes.", value: process.memoryUsage.rss() },
    { name: "process_start_time_seconds", type: "gauge", help: "Start time of the process since unix epoch in seconds.", value: Math.round(performance.timeOrigin / 1000) },
    { name: "nodejs_eventloop_lag_seconds", type: "gauge", help: "Lag of event loop in seconds.", value: lag }
  ]
  const open = openFds()
  if (open !== undefined) families.push({ name: "process_open_fds", type: "gauge", help: "Number of open file descriptors.", value: open })
  const max = maxFds()
  if (max !== undefined) families.push({ name: "process_max_fds", type: "gauge", help: "Maximum number of open file descriptors.", value: max })
  return render(families)
})
