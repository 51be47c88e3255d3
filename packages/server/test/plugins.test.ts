/**
 * The config's `plugins` through the CLI as a user runs it (a child process on Node 24): provider
 * definitions in modules outside the project — a `.ts` file next to the config and a package in
 * the working directory's node_modules — each an OpenAI-wire provider made with `defineProvider`
 * and pointed at a `FakeOpenAI`. Entries of their types validate and answer like built-in ones;
 * a plug-in that does not load, or exports no definition, stops start-up naming `plugins[i]`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const CLI = resolve(import.meta.dirname, "../src/cli.ts")
// The plug-ins live outside the workspace, so they reach the gateway's sources by URL (a user's import "llm-gateway").
const source = (path: string) => JSON.stringify(pathToFileURL(resolve(import.meta.dirname, "../..", path)).href)

/** An OpenAI-wire provider of `type`, reusing the OpenAI client (imported when one is configured). */
const definition = (type: string, model: string) => `defineProvider({
  type: "${type}",
  family: "local",
  models: [{ id: "${model}", contextWindow: 32000, inputCostPer1M: 1, outputCostPer1M: 2 }],
  make: lazyMake(() => import(${source("openai/src/OpenAIClient.ts")}), (m, config) => m.makeOpenAIClient({ ...config, type: "openai-compatible" }))
})`
const imports = `import { defineProvider, lazyMake } from ${source("core/src/providers/ProviderDefinition.ts")}\n`

let acme: FakeOpenAI
let wire: FakeOpenAI
let dir: string
let serving: { readonly child: ChildProcess; readonly url: string; readonly stderr: () => string }
let missing: Ran
let empty: Ran

interface Ran {
  readonly code: number | null
  readonly stderr: string
}

const env = () => ({ PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1" })

const run = (args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: env(), cwd: dir })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => done({ code, stderr }))
  })

const startServe = (config: string): Promise<typeof serving> =>
  new Promise((ok, fail) => {
    const child = spawn(process.execPath, [CLI, "serve", "--config", config, "--port", "0"], { env: env(), cwd: dir })
    let stderr = ""
    const timer = setTimeout(() => fail(new Error(`no listening line in: ${stderr}`)), 45_000)
    child.on("close", () => fail(new Error(`serve exited: ${stderr}`)))
    child.stderr.on("data", (d) => {
      stderr += d
      const m = /listening on (http:\/\/\S+?) /.exec(stderr)
      if (m !== null) {
        clearTimeout(timer)
        ok({ child, url: m[1], stderr: () => stderr })
      }
    })
  })

const config = (plugins: string, providers = "") => `
plugins: ${plugins}
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: acme, type: acme, baseUrl: ${acme.baseUrl}, apiKey: acme-key }
${providers}
routing: { fallbackOrder: [acme/acme-1], maxRetries: 0 }
cache: { enabled: false }
conversations: { store: memory }
`

beforeAll(async () => {
  acme = await startFakeOpenAI({ reply: "from acme" })
  wire = await startFakeOpenAI({ reply: "from the wire package" })
  dir = mkdtempSync(join(tmpdir(), "gateway-plugins-"))
  // the config and its plug-in in a folder of their own: a relative plug-in path starts at the config, not the working directory
  mkdirSync(join(dir, "conf", "plugins"), { recursive: true })
  writeFileSync(join(dir, "conf", "plugins", "acme.ts"), `${imports}export default ${definition("acme", "acme-1")}\n`)
  writeFileSync(join(dir, "conf", "plugins", "empty.ts"), "export const answer: number = 42\n")
  // a package exporting only for `import`, as ESM packages do, with a list under `providers`
  mkdirSync(join(dir, "node_modules", "acme-wire"), { recursive: true })
  writeFileSync(
    join(dir, "node_modules", "acme-wire", "package.json"),
    JSON.stringify({ name: "acme-wire", type: "module", exports: { ".": { import: "./index.js" } } })
  )
  writeFileSync(join(dir, "node_modules", "acme-wire", "index.js"), `${imports}export const providers = [${definition("acme-wire", "wire-1")}]\n`)
  const files = {
    good: config(`["./plugins/acme.ts", acme-wire]`, `  - { name: wire, type: acme-wire, baseUrl: ${wire.baseUrl} }`),
    missing: config(`["./plugins/nope.ts"]`),
    empty: config(`["./plugins/acme.ts", "./plugins/empty.ts"]`)
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "conf", `${name}.yaml`), text)
  ;[serving, missing, empty] = await Promise.all([
    startServe(join(dir, "conf", "good.yaml")),
    run(["serve", "--config", join(dir, "conf", "missing.yaml"), "--port", "0"]),
    run(["models", "--config", join(dir, "conf", "empty.yaml")])
  ])
}, 120_000)

afterAll(async () => {
  if (serving !== undefined && serving.child.exitCode === null) serving.child.kill("SIGKILL")
  await acme?.close()
  await wire?.close()
  rmSync(dir, { recursive: true, force: true })
})

const chat = (model: string) =>
  fetch(`${serving.url}/v1/chat/completions`, {
    method: "POST",
    // `include` also reports `usage.cost_usd`
    headers: { "content-type": "application/json", "x-llm-route": "include" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] })
  })

describe("config plugins (serve --config)", () => {
  it("a plug-in file next to the config and a package in node_modules: their providers answer 200", async () => {
    const fromFile = await chat("acme/acme-1")
    expect(fromFile.status).toBe(200)
    expect(fromFile.headers.get("x-llm-provider")).toBe("acme")
    expect(((await fromFile.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toBe("from acme")

    const fromPackage = await chat("wire/wire-1")
    expect(fromPackage.status).toBe(200)
    expect(((await fromPackage.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content)
      .toBe("from the wire package")
    // auto routes by the config's fallbackOrder to the plug-in's model, priced from its catalog row
    const auto = await chat("auto")
    expect(auto.headers.get("x-llm-model")).toBe("acme-1")
    expect(((await auto.json()) as { usage: { cost_usd?: number } }).usage.cost_usd).toBeGreaterThan(0)
  })

  it("a plug-in that does not load fails start-up with one line naming plugins[0]", () => {
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: plugins\[0\]: cannot load plug-in "\.\/plugins\/nope\.ts": /)])
  })

  it("a plug-in that exports no definition is named by its index", () => {
    expect(empty.code).toBe(1)
    expect(empty.stderr.trim().split("\n")).toEqual([
      'error: plugins[1]: plug-in "./plugins/empty.ts" exports no provider definition (a default export, or a named export provider / providers, made with defineProvider)'
    ])
  })
})
