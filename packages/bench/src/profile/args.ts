/**
 * What the profile tools (instructions.ts, cpuPerRequest.ts, layers.ts, legs.ts) share: their
 * arguments, the bench upstream they run against and the gateway they start.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Pool } from "undici"
import { gatewayScript, gatewayYaml, startEnv, startFlags } from "../Competitors.ts"
import { type Child, freePort, spawnNode, waitHttp, waitReady } from "../procs/Processes.ts"

export const benchDir = Path.resolve(import.meta.dirname, "../..")

const argv = process.argv.slice(2)
/** Every value given after `name`. */
export const all = (name: string): Array<string> => argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1]] : []))
export const num = (name: string, d: number): number => Number(all(name)[0] ?? d)
export const flag = (name: string): boolean => argv.includes(name)

export interface Repo {
  readonly dir: string
  /** Extra Node flags (a heap setting under test). */
  readonly flags: ReadonlyArray<string>
  /** Extra environment (an experiment's switch). */
  readonly env: Readonly<Record<string, string>>
}

/** `--repo "DIR [--node-flag …] [NAME=value …]"`, each; none given: this checkout unless `orNone`. */
export const repos = (orNone = false): Array<Repo> => {
  const given = all("--repo").map((r): Repo => {
    const [dir, ...rest] = r.split(/\s+/)
    return {
      dir: Path.resolve(dir),
      flags: rest.filter((w) => w.startsWith("--")),
      env: Object.fromEntries(rest.filter((w) => !w.startsWith("--") && w.includes("=")).map((w) => w.split("=", 2)))
    }
  })
  if (given.length === 0 && !orNone) given.push({ dir: Path.resolve(benchDir, "../.."), flags: [], env: {} })
  return given
}

/** The bench upstream (OpenAI's wire format) on a free port, as a child of this process. */
export const startUpstream = async (logDir: string, chunkIntervalMs = 0): Promise<string> => {
  const upstream = await waitReady(spawnNode({
    name: "upstream",
    cpu: undefined,
    script: Path.join(benchDir, "src/upstream/main.ts"),
    args: [JSON.stringify({ chunks: 20, chunkIntervalMs, holdIntervalMs: 100 })],
    logDir
  }))
  return `http://127.0.0.1:${upstream.port}`
}

/**
 * The gateway of checkout `repo` as `pnpm start` runs it (the bundle, its Node flags and
 * environment, plus the repo's own extras), with the bench config pointed at `upstream`; resolves
 * once `/health` answers. `name` names its log, config and ledger files in `logDir`; `cpu`: the
 * core to pin it to (none: unpinned).
 */
export const startGatewayFrom = async (
  { dir, env, flags }: Repo,
  name: string,
  upstream: string,
  logDir: string,
  cpu?: number
): Promise<{ readonly child: Child; readonly origin: string }> => {
  const port = await freePort()
  const config = Path.join(logDir, `${name}.yaml`)
  Fs.writeFileSync(config, gatewayYaml(port, upstream, false, Path.join(logDir, `${name}.db`)))
  const child = spawnNode({
    name,
    cpu,
    script: gatewayScript(dir),
    args: ["serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"],
    nodeFlags: [...startFlags(dir), ...flags],
    cwd: dir,
    env: { ...process.env, ...startEnv(dir), ...env },
    logDir
  })
  const origin = `http://127.0.0.1:${port}`
  await waitHttp(child, `${origin}/health`)
  return { child, origin }
}

/**
 * `n` chat completions with `payload`, from `connections` loops on one undici Pool; the answers
 * that failed or were not 200 (a kept-alive connection the server closed meanwhile: counted, not fatal).
 */
export const sendChats = async (origin: string, n: number, connections: number, payload: string): Promise<number> => {
  const pool = new Pool(origin, { connections })
  let left = n
  let failed = 0
  const loop = async () => {
    while (left-- > 0) {
      try {
        const res = await pool.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
          body: payload
        })
        await res.body.text()
        if (res.statusCode !== 200) failed++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, loop))
  await pool.close()
  return failed
}

const TICK_US = 1e6 / 100 // USER_HZ

export interface ThreadStat {
  readonly tid: number
  readonly name: string
  /** CPU µs in user and kernel mode since the thread started. */
  readonly user: number
  readonly sys: number
  readonly minorFaults: number
}

/** Every thread of `pid` from /proc (a thread that ended meanwhile is left out). */
export const threadStats = (pid: number): Array<ThreadStat> => {
  const out: Array<ThreadStat> = []
  for (const tid of Fs.readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try {
      stat = Fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
    } catch {
      continue
    }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    out.push({
      tid: Number(tid),
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      user: Number(f[11]) * TICK_US,
      sys: Number(f[12]) * TICK_US,
      minorFaults: Number(f[7])
    })
  }
  return out
}
