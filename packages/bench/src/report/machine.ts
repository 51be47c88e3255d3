/** The machine and the versions a result belongs to. */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const versionOf = (benchDir: string, pkg: string): string => {
  try {
    return (JSON.parse(Fs.readFileSync(Path.join(benchDir, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version
  } catch {
    return "?"
  }
}

export const machineInfo = (benchDir: string): Record<string, string> => {
  const cpus = Os.cpus()
  const honoNodeServer = (() => {
    try {
      const store = Path.resolve(benchDir, "../../node_modules/.pnpm")
      return Fs.readdirSync(store).filter((d) => d.startsWith("@hono+node-server@")).map((d) => d.split("@")[2].split("_")[0]).join(", ")
    } catch {
      return "?"
    }
  })()
  return {
    nproc: String(Os.cpus().length),
    loadavgAtStart: Os.loadavg().map((x) => x.toFixed(2)).join(" "),
    cpu: `${cpus[0]?.model ?? "?"}`,
    memory: `${(Os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${Os.type()} ${Os.release()}`,
    node: process.version,
    autocannon: versionOf(benchDir, "autocannon"),
    mitata: versionOf(benchDir, "mitata"),
    openai: versionOf(benchDir, "openai"),
    undici: versionOf(benchDir, "undici"),
    effect: versionOf(benchDir, "effect"),
    "@portkey-ai/gateway": versionOf(benchDir, "@portkey-ai/gateway"),
    "@hono/node-server": honoNodeServer
  }
}
