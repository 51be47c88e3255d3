/**
 * A fresh clone with nothing configured: no keys, no config file, no network, a temp working
 * directory. The gateway serves the repository's embedded model (models/stories260K.gguf) as
 * provider `local`; with `LLM_EMBEDDED_DEFAULT=false` it has no model at all and says what to set,
 * as a 503 the OpenAI SDK does not retry.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const CLI = resolve(import.meta.dirname, "../src/cli.ts")

let dir: string
let askDir: string
let offDir: string

/** Only PATH and HOME: no provider key, no LLM_GATEWAY_CONFIG. */
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1", ...extra })

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (args: ReadonlyArray<string>, cwd: string, extra?: Record<string, string>): Promise<Ran> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: env(extra), cwd })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => done({ code, stdout, stderr }))
  })

interface Serving {
  readonly child: ChildProcess
  readonly url: string
  readonly stderr: () => string
}

const startServe = (cwd: string, extra?: Record<string, string>): Promise<Serving> =>
  new Promise((ok, fail) => {
    const child = spawn(process.execPath, [CLI, "serve", "--port", "0"], { env: env(extra), cwd })
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

let ask: Ran
let askOff: Ran
let serving: Serving
let servingOff: Serving

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gateway-fresh-"))
  askDir = mkdtempSync(join(tmpdir(), "gateway-fresh-ask-"))
  offDir = mkdtempSync(join(tmpdir(), "gateway-fresh-off-"))
  ;[ask, askOff, serving, servingOff] = await Promise.all([
    run(["ask", "Once upon a time"], askDir),
    run(["ask", "hello"], offDir, { LLM_EMBEDDED_DEFAULT: "false" }),
    startServe(dir),
    startServe(offDir, { LLM_EMBEDDED_DEFAULT: "false" })
  ])
}, 60_000)

afterAll(() => {
  for (const s of [serving, servingOff]) if (s !== undefined && s.child.exitCode === null) s.child.kill("SIGKILL")
  for (const d of [dir, askDir, offDir]) if (d !== undefined) rmSync(d, { recursive: true, force: true })
})

describe("a fresh clone with nothing configured", () => {
  it("serve answers model auto from the embedded model, 200 with a non-empty completion (OpenAI SDK)", async () => {
    const client = new OpenAI({ baseURL: `${serving.url}/v1`, apiKey: "unused" })
    const completion = await client.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "Once upon a time" }],
      max_tokens: 32
    })
    expect(completion.choices[0].message.content?.trim().length).toBeGreaterThan(0)
    expect(completion.model).toBe("local/stories260K")
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0)
  }, 30_000) // the first request loads the embedded model: seconds on a busy 2-core machine

  it("the banner says it serves the embedded model and how to add providers", () => {
    const banner = serving.stderr()
    expect(banner).toContain("local/stories260K")
    expect(banner).toContain("models/stories260K.gguf")
    expect(banner).toContain("LLM_LOCAL_MODEL_PATH")
    expect(banner).toContain("OPENAI_API_KEY")
    expect(banner).toContain("LLM_EMBEDDED_DEFAULT=false")
  })

  it("gateway ask streams the tiny model's story to stdout", () => {
    expect(ask.code).toBe(0)
    expect(ask.stdout.trim().length).toBeGreaterThan(20)
    expect(ask.stderr).toMatch(/local\/stories260K · \d+ tokens/)
  })

  it("asking writes nothing to the working directory", () => {
    expect(readdirSync(askDir)).toEqual([])
  })

  it("serving writes only the usage ledger's store, .data/gateway.db, once a request was answered", async () => {
    // the ledger writes its first row within its flush interval (1 s) of the request above
    const deadline = Date.now() + 5000
    while (!existsSync(join(dir, ".data", "gateway.db")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(readdirSync(join(dir, ".data")).filter((f) => !f.startsWith("gateway.db-"))).toEqual(["gateway.db"])
    expect(readdirSync(dir).filter((f) => f !== ".data")).toEqual([])
  })
})

describe("no model at all (LLM_EMBEDDED_DEFAULT=false)", () => {
  it("a chat request is a 503 model_unavailable saying what to set, which the OpenAI SDK does not retry", async () => {
    let requests = 0
    const client = new OpenAI({
      baseURL: `${servingOff.url}/v1`,
      apiKey: "unused",
      maxRetries: 2,
      fetch: (url, init) => {
        requests++
        return fetch(url, init)
      }
    })
    const error = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }] })
      .then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    const e = error as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(503)
    expect(e.code).toBe("model_unavailable")
    expect(e.headers?.get("x-should-retry")).toBe("false")
    expect(e.message).toContain("no chat model is configured")
    expect(e.message).toContain("LLM_LOCAL_MODEL_PATH")
    expect(requests).toBe(1)
    expect(servingOff.stderr()).toContain("no provider configured")
  })

  it("gateway ask fails with a hint of what to set", () => {
    expect(askOff.code).toBe(1)
    expect(askOff.stdout).toBe("")
    expect(askOff.stderr).toContain("no chat model is configured")
    expect(askOff.stderr).toContain("OPENAI_API_KEY")
    expect(askOff.stderr).toContain("LLM_LOCAL_MODEL_PATH")
  })
})
