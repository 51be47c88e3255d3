/**
 * `gateway serve --workers N` (or `auto`: one per core): the primary forks N workers with
 * node:cluster, each a whole gateway (`serve` without `--workers`) listening on the same port;
 * Node's primary accepts connections and hands them to the workers in turn. The primary itself
 * serves nothing: it forwards SIGTERM / SIGINT to every worker (each drains as a single
 * process does: notes/operations.md "Workers"), exits when the last worker has, and replaces a
 * worker that dies while the gateway is not stopping.
 *
 * Each worker keeps its own memory caches, breakers and rate limiters, as separate instances
 * do; with `redis.url` the breakers, limits, budgets and L2 cache are shared.
 */
import cluster from "node:cluster"
import { availableParallelism } from "node:os"

/**
 * `--workers N` / `--workers=N` / `--workers auto` taken out of `serve`'s arguments: the worker
 * count (undefined when absent) and the arguments without it.
 */
export const takeWorkers = (args: ReadonlyArray<string>): { readonly workers: number | undefined; readonly rest: Array<string> } => {
  const rest: Array<string> = []
  let value: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === "--workers") value = args[++i] ?? ""
    else if (a.startsWith("--workers=")) value = a.slice("--workers=".length)
    else rest.push(a)
  }
  if (value === undefined) return { workers: undefined, rest }
  const workers = value === "auto" ? availableParallelism() : Number(value)
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`--workers: expected a positive whole number or auto, got ${JSON.stringify(value)}`)
  }
  return { workers, rest }
}

/** A worker that dies this soon after its start is not restarted (a config or port error would loop). */
const MIN_UPTIME_MS = 5_000

/** Runs the cluster primary: N workers running `args` (the CLI arguments without `--workers`). */
export const runPrimary = (workers: number, args: ReadonlyArray<string>): void => {
  cluster.setupPrimary({ args: [...args] })
  let stopping = false
  let exitCode = 0
  const startedAt = new Map<number, number>()
  const fork = () => {
    const worker = cluster.fork()
    startedAt.set(worker.id, Date.now())
  }
  for (let i = 0; i < workers; i++) fork()
  process.stderr.write(`primary ${process.pid}: ${workers} workers (node:cluster)\n`)

  cluster.on("exit", (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0)
    startedAt.delete(worker.id)
    if (!stopping) {
      if (lived >= MIN_UPTIME_MS) {
        process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`)
        return fork()
      }
      // it could not start: stop the rest too, with its exit code
      exitCode = code ?? 1
      stop("SIGTERM")
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode)
  })

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
  }
  // A terminal's Ctrl-C reaches the workers too (same process group); a supervisor's SIGTERM
  // reaches only the primary. Either way each worker gets one signal and drains.
  process.on("SIGTERM", () => stop("SIGTERM"))
  process.on("SIGINT", () => stop("SIGTERM"))
}

export const isPrimary = (): boolean => cluster.isPrimary
