/**
 * Start-up checks for files the gateway will write (the SQLite conversation store). The
 * SQLite store opens on first use, so a path the process cannot create would only fail — or,
 * under `/proc`, spin — on the first conversation; checked up front it is one clear error
 * naming the config key.
 */
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { Effect } from "effect"

const reason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === "EACCES" || code === "EPERM"
    ? "permission denied"
    : code === "EROFS"
    ? "read-only file system"
    : code === "ENOENT"
    ? "the file system there takes no new files"
    : code ?? String(e)
}

/** Why `file` cannot be used as a database file, or `undefined` when it can. */
const problemWith = (file: string): string | undefined => {
  const target = resolve(file)
  if (existsSync(target)) {
    const stat = statSync(target)
    if (!stat.isFile()) return `${target} is not a regular file`
    try {
      accessSync(target, constants.R_OK | constants.W_OK)
    } catch (e) {
      return `cannot write ${target}: ${reason(e)}`
    }
  }
  // The nearest folder that exists must take a new file: the store creates the rest (and
  // a probe file shows what `access` cannot, e.g. /proc or a read-only mount as root).
  let dir = dirname(target)
  while (!existsSync(dir)) dir = dirname(dir)
  if (!statSync(dir).isDirectory()) return `${dir} is not a folder`
  const probe = join(dir, `.llm-gateway-probe-${process.pid}`)
  try {
    writeFileSync(probe, "")
    rmSync(probe, { force: true })
    return undefined
  } catch (e) {
    return `cannot create files under ${dir}: ${reason(e)}`
  }
}

/** Fails with a `ConfigurationError` naming `key` when `file` cannot be created or written. */
export const checkWritableFile = (key: string, file: string): Effect.Effect<void, ConfigurationError> =>
  Effect.suspend(() => {
    const problem = problemWith(file)
    return problem === undefined ? Effect.void : Effect.fail(new ConfigurationError({ path: key, message: problem }))
  })
