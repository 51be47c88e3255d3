/**
 * The `gateway` CLI as a user runs it (a child process on Node 24), with a YAML config pointing
 * at loopback fakes and a clean environment.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOllama, startFakeOllama } from "@llm-gateway/testing/FakeOllama"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CANARY_KEY } from "./support/harness.ts"

// the gateway as `pnpm gateway` runs it: its bundle, built by the suite's global setup (test/bundleSetup.ts)
const CLI = resolve(import.meta.dirname, "../dist-bundle/cli.js")

let openai: FakeOpenAI
let ollama: FakeOllama
let compat: FakeOpenAI
let dir: string
let configFile: string
let readmeFile: string

/**
 * README.md's example config as printed, pointed at the fakes, plus an unpriced
 * openai-compatible provider the routing never names: `auto` must go where the README's
 * fallbackOrder says, not to the "local" model (issue 11).
 */
const readmeConfig = (): string => {
  const readme = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8")
  const block = /```yaml\n(server:[\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error("README.md has no example config block")
  const edited = block
    .replace("    type: openai\n", `    type: openai\n    baseUrl: ${openai.baseUrl}\n`)
    .replace(/^(  - \{ name: anthropic.*)$/m, `$1\n  - { name: compat, type: openai-compatible, baseUrl: ${compat.baseUrl}, models: [{ id: local-model }] }`)
    .replace(/^redis:.*$/m, "")
    .replace(/^conversations:.*$/m, "conversations: { store: memory }")
  if (!edited.includes("compat") || !edited.includes(openai.baseUrl)) throw new Error(`README example changed shape:\n${block}`)
  return edited
}

beforeAll(async () => {
  openai = await startFakeOpenAI({ reply: "Paris is the capital of France.", apiKey: CANARY_KEY })
  ollama = await startFakeOllama({ reply: "local answer" })
  compat = await startFakeOpenAI({ reply: "an answer from the compat model" })
  dir = mkdtempSync(join(tmpdir(), "gateway-cli-"))
  readmeFile = join(dir, "readme.yaml")
  writeFileSync(readmeFile, readmeConfig())
  configFile = join(dir, "gateway.yaml")
  writeFileSync(configFile, `
server: { host: 127.0.0.1, port: 0 }
providers:
  - name: openai
    type: openai
    baseUrl: ${openai.baseUrl}
    apiKey: \${CANARY}
    models:
      - { id: gpt-4o-mini, contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }
  - name: broken
    type: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    models: [{ id: nothing }]
routing: { fallbackOrder: [openai/gpt-4o-mini], maxRetries: 0 }
conversations: { store: memory }
`)
})
afterAll(async () => {
  if (serving !== undefined && serving.child.exitCode === null) serving.child.kill("SIGKILL")
  await openai?.close()
  await ollama?.close()
  await compat?.close()
  rmSync(dir, { recursive: true, force: true })
})

const env = () => ({
  PATH: process.env.PATH ?? "",
  HOME: dir,
  CANARY: CANARY_KEY,
  NO_COLOR: "1",
  // the README example's references
  OPENAI_API_KEY: CANARY_KEY,
  ANTHROPIC_API_KEY: "sk-ant-unused",
  GATEWAY_API_KEY: "gw-key"
})

const run = (args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: env(), cwd: dir })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => done({ code, stdout, stderr }))
  })

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

// Each CLI run is a fresh Node process (~1-2 s of start-up): they all run at once, up front.
let ask: Ran
let askNoStream: Ran
let models: Ran
let health: Ran
let readmeAsk: Ran
let readmeModels: Ran
let serving: Serving

interface Serving {
  readonly child: ChildProcess
  readonly url: string
  readonly stderr: () => string
}

const startServe = (): Promise<Serving> =>
  new Promise((ok, fail) => {
    const child = spawn(process.execPath, [CLI, "serve", "--config", configFile, "--port", "0"], { env: env(), cwd: dir })
    let stderr = ""
    const timer = setTimeout(() => fail(new Error(`no listening line in: ${stderr}`)), 45_000)
    child.stderr.on("data", (d) => {
      stderr += d
      const m = /listening on (http:\/\/\S+?) /.exec(stderr)
      if (m !== null) {
        clearTimeout(timer)
        ok({ child, url: m[1], stderr: () => stderr })
      }
    })
  })

beforeAll(async () => {
  ;[ask, askNoStream, models, health, serving] = await Promise.all([
    run(["ask", "What is the capital of France?", "--config", configFile, "--model", "openai/gpt-4o-mini"]),
    run(["ask", "Again?", "--no-stream", "--config", configFile]),
    run(["models", "--config", configFile]),
    run(["health", "--config", configFile, "--timeout", "2000"]),
    startServe()
  ])
  // after the others: seven Node start-ups at once on a loaded 2-core machine starve `serve`
  ;[readmeAsk, readmeModels] = await Promise.all([
    run(["ask", "Hello?", "--no-stream", "--config", readmeFile]),
    run(["models", "--config", readmeFile])
  ])
}, 120_000)

describe("gateway CLI", () => {
  it("ask streams the answer to stdout and provider/model/tokens/cost to stderr", () => {
    expect(ask.code).toBe(0)
    expect(ask.stdout).toBe("Paris is the capital of France.\n")
    expect(ask.stderr).toMatch(/openai\/gpt-4o-mini · \d+ tokens \(\d+ prompt \+ 6 completion\) · \$0\.\d+/)
    expect(askNoStream.code).toBe(0)
    expect(askNoStream.stdout).toBe("Paris is the capital of France.\n")
  })

  it("models lists provider/model refs; health reports each provider ok or why not", () => {
    expect(models.code).toBe(0)
    expect(models.stdout).toContain("openai/gpt-4o-mini")
    expect(models.stdout).toContain("$0.15 / $0.6")
    expect(models.stdout).toContain("broken/nothing")
    expect(health.code).toBe(0)
    expect(health.stdout).toMatch(/^ok\s+openai \(openai\)/m)
    expect(health.stdout).toMatch(/^error\s+broken \(openai-compatible\): \S+/m)
    for (const r of [ask, askNoStream, models, health]) {
      expect(r.stdout).not.toContain(CANARY_KEY)
      expect(r.stderr).not.toContain(CANARY_KEY)
    }
  })

  it("the README's example config routes auto as its fallbackOrder reads, and models shows the order per task", () => {
    expect(readmeAsk.stderr).toContain("openai/gpt-4o-mini")
    expect(readmeAsk.stdout).toBe("Paris is the capital of France.\n")
    expect(compat.server.requests.filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(0)
    expect(readmeModels.code).toBe(0)
    expect(readmeModels.stdout).toContain("compat/local-model")
    expect(readmeModels.stdout).toMatch(/^general\s+openai\/gpt-4o-mini → anthropic\/claude-3-haiku-20240307$/m)
    expect(readmeModels.stdout).toMatch(/^analysis\s+anthropic\/claude-3-haiku-20240307 → openai\/gpt-4o-mini$/m)
    // the first config: its only fallback is openai; the broken compat model is never in a route
    expect(models.stdout).toMatch(/^general\s+openai\/gpt-4o-mini$/m)
  })

  it("serve prints a masked banner, serves, and exits cleanly on SIGTERM", async () => {
    expect(serving.stderr()).toContain("providers (2)")
    expect(serving.stderr()).toContain("openai/gpt-4o-mini")
    expect(serving.stderr()).toContain("key sk-…CRET")
    const res = await fetch(`${serving.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
    })
    expect(res.status).toBe(200)
    // the bundle finds what the sources find beside them: the console's files (dist-ui)
    const ui = await fetch(`${serving.url}/ui/`)
    expect(ui.status).toBe(200)
    expect(await ui.text()).toContain("<html")
    const exited = new Promise<number | null>((ok) => serving.child.on("close", (code) => ok(code)))
    serving.child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(serving.stderr()).toContain("shutting down")
    expect(serving.stderr()).not.toContain(CANARY_KEY)
  })
})
