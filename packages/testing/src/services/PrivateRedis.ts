/**
 * A private, throw-away redis-server on a free port: the global test setup starts one for the
 * whole run, and a test that wants to kill Redis mid-test starts its own, so others are unharmed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { findRedisServer } from "./binaries.ts"
import { freePort, waitForPort } from "./ports.ts"

export interface PrivateRedis {
  readonly url: string
  readonly port: number
  /** SIGKILL the server (connections drop at once). */
  readonly kill: () => Promise<void>
  /** Start it again on the same port (after `kill`). */
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
}

const missing = () =>
  new Error(
    "redis-server not found: install Redis (Debian: apt-get install redis-server) or set REDIS_URL to a running Redis"
  )

export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const bin = findRedisServer()
  if (bin === undefined) throw missing()
  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore"
    })
    await waitForPort(port)
  }
  const kill = async () => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve())
      c.kill("SIGKILL")
    })
  }
  await launch()
  return { url: `redis://127.0.0.1:${port}`, port, kill, restart: launch, stop: kill }
}
