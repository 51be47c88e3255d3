/** Finds the PostgreSQL and Redis server binaries the throw-away test services need. */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const onPath = (name: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(Path.delimiter)) {
    const candidate = Path.join(dir, name)
    if (dir && Fs.existsSync(candidate)) return candidate
  }
  return undefined
}

/** `initdb`/`pg_ctl` are not on PATH on Debian: they live in /usr/lib/postgresql/<major>/bin. */
export const findPostgresBin = (name: "initdb" | "pg_ctl" | "postgres"): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (Fs.existsSync(root)) {
    const majors = Fs.readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))
    for (const major of majors) {
      const candidate = Path.join(root, major, "bin", name)
      if (Fs.existsSync(candidate)) return candidate
    }
  }
  return onPath(name)
}

export const findRedisServer = (): string | undefined => onPath("redis-server") ?? (Fs.existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : undefined)

export const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0

/** PostgreSQL refuses to run as root: run its tools as the `postgres` system user then. */
export const asPostgresUser = (bin: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, [...args]]

export const run = (bin: string, args: ReadonlyArray<string>) => {
  const [cmd, argv] = asPostgresUser(bin, args)
  return execFileSync(cmd, argv, { stdio: "pipe" }).toString()
}
