/**
 * The bench's child processes: each pinned to a core with `taskset` (so the system under test,
 * the upstream and the load generator do not steal each other's core), logged to a file, and
 * killed — by pid, SIGKILL — when the bench exits for any reason (normal end, error, SIGINT,
 * SIGTERM). Children also exit on their own when the IPC channel to the bench closes, which
 * covers a bench killed with SIGKILL.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

export interface Child {
  readonly name: string
  readonly pid: number
  readonly proc: ChildProcess
  readonly logFile: string
  /** Set by the child's `ready` message (own children) or by the caller (third-party servers). */
  port: number
  /** Date.now() at spawn. */
  readonly spawnedAt: number
  readonly exited: () => boolean
  readonly kill: () => void
  /** Last lines of the child's log, for "not available" reasons. */
  readonly tail: (lines?: number) => string
}

const live = new Set<Child>()
let pinning: boolean | undefined

/** `taskset` exists and may set affinity here (containers sometimes forbid it). */
/** `--no-pin`: every process runs where the OS puts it (a plain unpinned run). */
export const disablePinning = (): void => {
  pinning = false
}

export const canPin = (): boolean => {
  if (pinning === undefined) pinning = spawnSync("taskset", ["-c", "0", "true"]).status === 0
  return pinning
}

/** Moves a running process (all its threads) to a core. */
export const pin = (pid: number, cpu: number): void => {
  if (canPin()) spawnSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" })
}

export const killAll = (): void => {
  for (const c of live) c.kill()
}

let hooked = false
const hookExit = () => {
  if (hooked) return
  hooked = true
  process.on("exit", killAll)
}

/** For the bench's main process: signals and crashes also end every child. */
export const installExitHooks = (): void => {
  hookExit()
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      killAll()
      process.stderr.write(`\nbench: ${signal}, child processes killed\n`)
      process.exit(130)
    })
  }
  process.on("uncaughtException", (error) => {
    killAll()
    process.stderr.write(`bench: ${error.stack ?? String(error)}\n`)
    process.exit(1)
  })
  process.on("unhandledRejection", (error) => {
    killAll()
    process.stderr.write(`bench: unhandled rejection: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  })
}

export interface SpawnOptions {
  readonly name: string
  /** Core to pin to; undefined = not pinned. */
  /**
   * Core to pin to; `"all"`: every core of the machine (a child otherwise inherits the bench's
   * own pinning to the driver core); undefined = not pinned.
   */
  readonly cpu: number | "all" | undefined
  readonly script: string
  readonly args?: ReadonlyArray<string>
  readonly nodeFlags?: ReadonlyArray<string>
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  readonly logDir: string
}

export const spawnNode = (options: SpawnOptions): Child => {
  hookExit()
  const logFile = Path.join(options.logDir, `${options.name}.log`)
  const fd = Fs.openSync(logFile, "w")
  const nodeArgs = [...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])]
  const pinned = options.cpu !== undefined && canPin()
  // taskset execs node, so the pid, the IPC channel and the affinity all belong to node itself.
  const proc = pinned
    ? spawn("taskset", ["-c", options.cpu === "all" ? `0-${Os.cpus().length - 1}` : String(options.cpu), process.execPath, ...nodeArgs], {
      stdio: ["ignore", fd, fd, "ipc"],
      cwd: options.cwd,
      env: options.env ?? process.env
    })
    : spawn(process.execPath, nodeArgs, { stdio: ["ignore", fd, fd, "ipc"], cwd: options.cwd, env: options.env ?? process.env })
  Fs.closeSync(fd)
  let exited = false
  const child: Child = {
    name: options.name,
    pid: proc.pid ?? -1,
    proc,
    logFile,
    port: 0,
    spawnedAt: Date.now(),
    exited: () => exited,
    kill: () => {
      if (!exited && proc.pid !== undefined) {
        try {
          process.kill(proc.pid, "SIGKILL")
        } catch {
          // already gone
        }
      }
    },
    tail: (lines = 8) => {
      try {
        return Fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-lines).join("\n")
      } catch {
        return ""
      }
    }
  }
  proc.on("exit", () => {
    exited = true
    live.delete(child)
  })
  // An IPC error (the child died mid-send) must not crash the bench.
  proc.on("error", () => undefined)
  live.add(child)
  return child
}

/** Waits for the child's `{ type: "ready", port }` message. */
export const waitReady = (child: Child, timeoutMs = 20_000): Promise<Child> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs)
    const onMessage = (m: unknown) => {
      const msg = m as { type?: string; port?: number }
      if (msg.type !== "ready") return
      cleanup()
      if (typeof msg.port === "number") child.port = msg.port
      resolve(child)
    }
    const onExit = (code: number | null) => fail(`exited (code ${code}) before it was ready`)
    const cleanup = () => {
      clearTimeout(timer)
      child.proc.off("message", onMessage)
      child.proc.off("exit", onExit)
    }
    const fail = (why: string) => {
      cleanup()
      reject(new Error(`${child.name} ${why}\n${child.tail()}`))
    }
    child.proc.on("message", onMessage)
    child.proc.on("exit", onExit)
  })

/** Polls `url` until the server answers at all (any status), or fails when the child exits. */
export const waitHttp = async (child: Child, url: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exited()) throw new Error(`${child.name} exited before it answered\n${child.tail()}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      await res.arrayBuffer()
      return
    } catch {
      await new Promise((r) => setTimeout(r, 150))
    }
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms\n${child.tail()}`)
}

/** A port that was free a moment ago (for servers that must be told their port). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = Net.createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as Net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

/** Resident set size of a process in bytes (Linux /proc), or NaN. */
export const rssOf = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? Number.NaN : Number(m[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** SIGINT, then SIGKILL after `graceMs`: a graceful exit writes a `--cpu-prof` profile. */
export const interrupt = (child: Child, graceMs = 8_000): Promise<void> =>
  new Promise((resolve) => {
    if (child.exited()) return resolve()
    const timer = setTimeout(() => child.kill(), graceMs)
    child.proc.once("exit", () => (clearTimeout(timer), resolve()))
    child.proc.kill("SIGINT")
  })

/** CPU time (user + system) of a process in seconds, from /proc (Linux's USER_HZ is 100). */
export const cpuSeconds = (pid: number): number => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after the command name (which may contain spaces) start at ") "
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return Number.NaN
  }
}

/**
 * Measures the CPU share (of one core) each process used between `from` and `to` ms from now;
 * resolves after `to`.
 */
export const cpuShares = (pids: Record<string, number>, fromMs: number, toMs: number): Promise<Record<string, number>> =>
  new Promise((resolve) => {
    let start: Record<string, number> = {}
    let t0 = 0
    const snap = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]))
    setTimeout(() => {
      start = snap()
      t0 = performance.now()
    }, fromMs)
    setTimeout(() => {
      const end = snap()
      const dt = (performance.now() - t0) / 1000
      resolve(Object.fromEntries(Object.keys(pids).map((k) => [k, (end[k] - start[k]) / dt])))
    }, toMs)
  })

export const stop = (child: Child): Promise<void> =>
  new Promise((resolve) => {
    if (child.exited()) return resolve()
    child.proc.once("exit", () => resolve())
    child.kill()
  })
