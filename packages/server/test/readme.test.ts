/**
 * The README's examples, run as a reader would run them: every ```ts / ```sh block whose info
 * string says `test:<name>` is extracted and executed against a gateway started by the quick
 * start's own command, with an empty environment (no keys, no config) — the embedded model
 * answers. Commands are translated only where the test cannot run them literally:
 * `npx -y pnpm@10 -s gateway` / `start` become the bundle step and the bundled CLI on this Node
 * (as the root package.json's scripts run them), `install` is skipped, and the
 * README's port 8080 becomes the port the test's server got.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const REPO = resolve(import.meta.dirname, "../../..")
// `pnpm start` and `pnpm gateway` build the gateway's bundle when stale, then run it
const BUNDLER = join(REPO, "packages/server/scripts/bundle.ts")
const CLI = join(REPO, "packages/server/dist-bundle/cli.js")
const README = readFileSync(join(REPO, "README.md"), "utf8")

interface Block {
  readonly lang: "ts" | "sh"
  readonly name: string
  readonly code: string
}

const blocks: ReadonlyArray<Block> = Array.from(
  README.matchAll(/^```(ts|sh) test:([\w-]+)\n([\s\S]*?)^```$/gm),
  (m) => ({ lang: m[1] as Block["lang"], name: m[2], code: m[3] })
)
const block = (name: string): Block => {
  const b = blocks.find((x) => x.name === name)
  if (b === undefined) throw new Error(`README has no block marked test:${name}`)
  return b
}

/** No key, no config file: what a fresh clone has. */
const cleanEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? "", HOME: workDir, NO_COLOR: "1", ...extra })

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (command: string, args: ReadonlyArray<string>, env: Record<string, string>): Promise<Ran> =>
  new Promise((done) => {
    const child = spawn(command, args, { cwd: REPO, env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => done({ code, stdout, stderr }))
  })

const withPort = (code: string) => code.replaceAll("http://127.0.0.1:8080", baseUrl)

const runSh = (b: Block) => {
  const script = withPort(b.code)
    .replaceAll("npx -y pnpm@10 -s gateway", `"$NODE" "${CLI}"`)
  return run("bash", ["-euo", "pipefail", "-c", script], cleanEnv({ NODE: process.execPath }))
}

// The ts examples live beside this package for the run, so `llm-gateway`, `openai` and `effect`
// resolve as in a user's project that depends on them.
const examplesDir = mkdtempSync(join(REPO, "packages/server/.readme-"))
const runTs = (b: Block) => {
  const file = join(examplesDir, `${b.name}.ts`)
  writeFileSync(file, withPort(b.code))
  return run(process.execPath, [file], cleanEnv())
}

let workDir: string
let server: ChildProcess
let baseUrl: string
let serverLog = ""
const results = new Map<string, Ran>()

beforeAll(async () => {
  workDir = mkdtempSync(join(examplesDir, "home-"))
  // The quick start, as written: install (already done for the test run), then start.
  const start = block("start").code.trim()
  expect(start).toBe("npx -y pnpm@10 install && npx -y pnpm@10 start")
  const scripts = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts
  expect(scripts.start).toMatch(/^node_modules\/node\/bin\/node packages\/server\/scripts\/bundle\.ts && exec (env (\w+=\S+ )+)?node_modules\/node\/bin\/node .*packages\/server\/dist-bundle\/cli\.js serve$/)
  const bundled = await run(process.execPath, [BUNDLER], cleanEnv())
  expect(bundled.stderr + `\n(exit ${bundled.code})`).toMatch(/\(exit 0\)$/)
  // in a temp working directory: its ledger store (.data/gateway.db) must not land in the repo
  server = spawn(process.execPath, [CLI, "serve"], { cwd: workDir, env: cleanEnv({ LLM_GATEWAY_PORT: "0" }) })
  baseUrl = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no listening line in: ${serverLog}`)), 45_000)
    server.stderr!.on("data", (d) => {
      serverLog += d
      const m = /listening on (http:\/\/\S+?) /.exec(serverLog)
      if (m !== null) {
        clearTimeout(timer)
        ok(m[1])
      }
    })
  })
  // Two at a time: each example is a Node process loading the model on a shared 2-core machine.
  const queue = blocks.filter((b) => b.name !== "start")
  const worker = async () => {
    for (let b = queue.shift(); b !== undefined; b = queue.shift()) results.set(b.name, await (b.lang === "sh" ? runSh(b) : runTs(b)))
  }
  await Promise.all([worker(), worker()])
}, 180_000)

afterAll(() => {
  if (server !== undefined && server.exitCode === null) server.kill("SIGKILL")
  rmSync(examplesDir, { recursive: true, force: true })
})

const ok = (name: string): Ran => {
  const r = results.get(name)
  if (r === undefined) throw new Error(`block test:${name} did not run`)
  expect(r.stderr + `\n(exit ${r.code})`).toMatch(/\(exit 0\)$/)
  return r
}

describe("README examples (fresh clone, nothing configured)", () => {
  it("the quick start serves the embedded model and the banner says how to add providers", () => {
    expect(serverLog).toContain("local/stories260K")
    expect(serverLog).toContain("LLM_LOCAL_MODEL_PATH")
  })

  it("first request: curl and the OpenAI SDK get a non-empty completion from model auto", () => {
    const body = JSON.parse(ok("curl").stdout) as { model: string; choices: Array<{ message: { content: string } }> }
    expect(body.model).toBe("local/stories260K")
    expect(body.choices[0].message.content.trim().length).toBeGreaterThan(0)
    expect(ok("openai-sdk").stdout.trim().length).toBeGreaterThan(0)
  })

  it("library: createDefaultLLMManager, makeLLMManager scoped with chat, streaming, generateObject, layerTest", () => {
    expect(ok("library-default").stdout).toContain("local stories260K")
    const chats = ok("library-scoped").stdout
    expect(chats.startsWith("[")).toBe(true)
    expect(ok("streaming").stdout.trim().split("\n").length).toBeGreaterThan(1)
    expect(ok("generate-object").stdout).toMatch(/^(happy|sad) (true|false)\nlocal \d+\n$/)
    expect(ok("layer-test").stdout.trim()).toBe("[ 'first answer', 'second answer' ]")
  })

  it("CLI: ask streams a story, models lists the embedded model, the offline example answers", () => {
    const cli = ok("cli")
    expect(cli.stdout).toContain("local/stories260K")
    expect(cli.stderr).toMatch(/local\/stories260K · \d+ tokens/)
    const offline = ok("offline")
    expect(offline.stdout.trim().length).toBeGreaterThan(0)
    expect(offline.stderr).toMatch(/local\/stories260K · \d+ tokens/)
  })

  it("alerts: the offline classify example answers one result from the embedded model", () => {
    const { results } = JSON.parse(ok("alerts-classify").stdout) as { results: Array<Record<string, unknown>> }
    expect(results.length).toBe(1)
    expect(Object.keys(results[0])).toEqual(["fingerprint", "severity", "category", "confidence", "reasoning", "recommendations", "source", "model", "tokens", "costUsd"])
    expect(results[0]).toMatchObject({ source: "llm", model: "local/stories260K", costUsd: 0 })
    expect(["critical", "warning", "info", "noise"]).toContain(results[0].severity)
  })

  it("every marked block ran (a block added to the README without a check still has to exit 0)", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10)
    for (const b of blocks) if (b.name !== "start") ok(b.name)
  })
})
