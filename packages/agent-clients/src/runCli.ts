/**
 * Runs an agent CLI once, bounded: it gets only the environment the test gives it (no provider
 * key or config of the caller leaks in, and no real endpoint is reachable through it), stdin
 * closed, and on timeout its whole process group is killed (both CLIs start children: a native
 * binary behind a Node launcher, the shell commands they run).
 */
import { spawn } from "node:child_process"

export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly ms: number
}

export interface CliOptions {
  readonly cwd: string
  readonly env: Record<string, string>
  readonly timeoutMs?: number
}

/** The variables every CLI needs to start at all; everything else comes from the test. */
export const baseEnv = (home: string): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: home,
  LANG: "C.UTF-8",
  TERM: "dumb",
  NO_COLOR: "1"
})

export const runCli = (command: ReadonlyArray<string>, args: ReadonlyArray<string>, options: CliOptions): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const [file, ...lead] = command
    const child = spawn(file, [...lead, ...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      // its own process group, so a timeout can kill the launcher and everything it started
      detached: true
    })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, options.timeoutMs ?? 60_000)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      // a shell command the agent left running in the background must not outlive the test
      killGroup()
      resolve({ code, stdout, stderr, timedOut, ms: Date.now() - started })
    })
  })
