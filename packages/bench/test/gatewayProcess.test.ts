/**
 * The bench measures the gateway users run: the script, the Node flags and the environment of the
 * checkout's own `pnpm start` (root package.json), not a copy of them kept here.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { gatewayScript, startEnv, startFlags } from "../src/Competitors.ts"

const repo = Path.resolve(import.meta.dirname, "../../..")
const start = (JSON.parse(Fs.readFileSync(Path.join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.start

describe("the gateway process the bench starts", () => {
  it("has the flags of the node that `pnpm start` execs, not of the bundle step before it", () => {
    const flags = startFlags(repo)
    expect(flags.length).toBeGreaterThan(0)
    expect(start).toContain(`node_modules/node/bin/node ${flags.join(" ")} packages/server/dist-bundle/cli.js serve`)
  })

  it("has the environment that `pnpm start` sets for that node", () => {
    const env = startEnv(repo)
    expect(env).toEqual({ MALLOC_ARENA_MAX: "2" })
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")
    expect(start).toContain(`exec env ${assignments} node_modules/node/bin/node ${startFlags(repo).join(" ")} `)
  })

  it("runs the bundle `pnpm start` runs, built and answering --version", () => {
    const script = gatewayScript(repo)
    expect(script).toBe(Path.join(repo, "packages/server/dist-bundle/cli.js"))
    expect(execFileSync(process.execPath, [...startFlags(repo), script, "--version"], { encoding: "utf8" })).toContain("0.1.0")
  })
})
