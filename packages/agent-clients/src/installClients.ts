/**
 * The agent CLIs the tests drive (Claude Code, Codex) are ~400 MB each with their native
 * binaries, so they are not dependencies of any package: the first test that needs one installs
 * its pinned version with npm into `.clients/` beside this package (git-ignored) and later runs
 * reuse it. Two test files may ask at once (vitest runs files in parallel workers, separate
 * processes): a lock directory makes one install while the other waits, and the install lands
 * in a staging directory renamed into place only once complete, so a killed install never
 * leaves a half-filled client behind.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export interface AgentCli {
  readonly name: string
  readonly package: string
  readonly version: string
  /** The command and leading arguments that start the CLI, given the installed prefix. */
  readonly command: (prefix: string) => ReadonlyArray<string>
}

/** `require.resolve` from inside an installed prefix (where the CLI's own platform packages are). */
const resolveIn = (prefix: string, request: string): string =>
  createRequire(join(prefix, "node_modules", "noop.js")).resolve(request)

/**
 * Claude Code 2.x ships a native binary per platform as an optional dependency; its postinstall
 * would copy it over the `claude` placeholder. Installs run with `--ignore-scripts`, so the
 * package's own `cli-wrapper.cjs` (its documented fallback) finds the platform binary instead.
 */
export const claudeCode: AgentCli = {
  name: "claude-code",
  package: "@anthropic-ai/claude-code",
  version: "2.1.332",
  command: (prefix) => [process.execPath, join(dirname(resolveIn(prefix, "@anthropic-ai/claude-code/package.json")), "cli-wrapper.cjs")]
}

/** Codex's `bin/codex.js` locates its platform package (an optional dependency) and execs the binary. */
export const codex: AgentCli = {
  name: "codex",
  package: "@openai/codex",
  version: "0.169.1",
  command: (prefix) => [process.execPath, join(dirname(resolveIn(prefix, "@openai/codex/package.json")), "bin", "codex.js")]
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..")
export const clientsDir = join(packageRoot, ".clients")

/** A lock older than this belongs to an install that died without cleaning up. */
const staleLockMs = 10 * 60_000
const installTimeoutMs = 8 * 60_000

const npmInstall = (prefix: string, spec: string): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile(
      "npm",
      [
        "install", spec, "--prefix", prefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
        // Optional dependencies stay: each CLI's native binary is one. Install scripts do not:
        // neither CLI needs its own (see `claudeCode`), and tests should not run them.
        "--ignore-scripts", "--prefer-offline", "--loglevel=error", "--engine-strict=false"
      ],
      { timeout: installTimeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) => (error ? reject(new Error(`npm install ${spec} failed: ${error.message}\n${stderr}`)) : resolve())
    )
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const tryLock = (lock: string): boolean => {
  try {
    mkdirSync(lock)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    try {
      if (Date.now() - statSync(lock).mtimeMs > staleLockMs) rmSync(lock, { recursive: true, force: true })
    } catch {
      // the holder finished between the two calls: the next try takes the lock
    }
    return false
  }
}

const isInstalled = (prefix: string, cli: AgentCli): boolean => {
  try {
    return JSON.parse(readFileSync(join(prefix, "installed.json"), "utf8")).version === cli.version
  } catch {
    return false
  }
}

export interface InstalledCli {
  /** The command and leading arguments that start the CLI. */
  readonly command: ReadonlyArray<string>
  /** How long this call took: the install, or the wait for another worker's (near 0 when cached). */
  readonly elapsedMs: number
}

/** The CLI at its pinned version, installed into `.clients/` on first use. */
export const installClient = async (cli: AgentCli): Promise<InstalledCli> => {
  const prefix = join(clientsDir, `${cli.name}@${cli.version}`)
  const started = Date.now()
  mkdirSync(clientsDir, { recursive: true })
  const lock = `${prefix}.lock`
  while (!isInstalled(prefix, cli)) {
    if (!tryLock(lock)) {
      await sleep(250)
      continue
    }
    try {
      if (isInstalled(prefix, cli)) break
      const staging = `${prefix}.staging-${process.pid}`
      rmSync(staging, { recursive: true, force: true })
      await npmInstall(staging, `${cli.package}@${cli.version}`)
      writeFileSync(join(staging, "installed.json"), JSON.stringify({ package: cli.package, version: cli.version }))
      rmSync(prefix, { recursive: true, force: true })
      renameSync(staging, prefix)
      return { command: cli.command(prefix), elapsedMs: Date.now() - started }
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
  if (!existsSync(prefix)) throw new Error(`${cli.package} is not installed in ${prefix}`)
  return { command: cli.command(prefix), elapsedMs: Date.now() - started }
}
