/**
 * A private, throw-away PostgreSQL cluster: `initdb` into a temp folder, `pg_ctl start` on a
 * free port with trust auth on 127.0.0.1, removed again when the test run ends.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { findPostgresBin, isRoot, run } from "./binaries.ts"
import { freePort, waitForPort } from "./ports.ts"

export interface PrivatePostgres {
  readonly url: string
  readonly stop: () => Promise<void>
}

export const startPrivatePostgres = async (): Promise<PrivatePostgres> => {
  const initdb = findPostgresBin("initdb")
  const pgCtl = findPostgresBin("pg_ctl")
  if (initdb === undefined || pgCtl === undefined) {
    throw new Error(
      "PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL"
    )
  }
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-gateway-pg-"))
  const data = Path.join(dir, "data")
  if (isRoot()) Fs.chownSync(dir, ...postgresIds())
  const port = await freePort()
  run(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
  run(pgCtl, [
    "-D",
    data,
    "-l",
    Path.join(dir, "postgres.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`,
    "-w",
    "start"
  ])
  await waitForPort(port)
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      try {
        run(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

const postgresIds = (): [number, number] => {
  const line = Fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"))
  if (line === undefined) throw new Error("running as root needs the `postgres` system user (installed with PostgreSQL)")
  const [, , uid, gid] = line.split(":")
  return [Number(uid), Number(gid)]
}
