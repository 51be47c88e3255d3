/**
 * The gateway as a supervisor runs it: `pnpm start` / `pnpm gateway serve` through the real
 * pnpm 10 binary (the one on PATH, else the one `npx -y pnpm@10` keeps in its cache, so no
 * network), in a process group of its own. SIGTERM to the pnpm process must reach the server:
 * the stream in flight finishes and the whole tree exits; a second instance on the same port
 * says so in words.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ROOT = resolve(import.meta.dirname, "../../..")
const REPLY = "one two three four five six seven eight nine ten eleven twelve"

/** pnpm 10: under `pnpm test` the running one, else the one npx caches for `npx -y pnpm@10`. */
const findPnpm = (): string => {
  const running = process.env.npm_execpath
  if (running !== undefined && /pnpm/.test(running)) return running
  return execFileSync("npx", ["-y", "-p", "pnpm@10", "-c", "command -v pnpm"], { cwd: tmpdir(), encoding: "utf8" }).trim()
}

const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const probe = createServer()
    probe.once("error", fail)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? ok(address.port) : fail(new Error("no port"))))
    })
  })

let pnpm: string
let upstream: FakeOpenAI
let dir: string
let configFile: string
let port: number
const started: Array<ChildProcess> = []

beforeAll(async () => {
  pnpm = findPnpm()
  upstream = await startFakeOpenAI({ reply: REPLY, chunkIntervalMs: 100 })
  port = await freePort()
  dir = mkdtempSync(join(tmpdir(), "gateway-process-"))
  configFile = join(dir, "gateway.yaml")
  writeFileSync(configFile, `
server: { host: 127.0.0.1, port: ${port} }
providers:
  - { name: up, type: openai-compatible, baseUrl: "${upstream.baseUrl}", models: [{ id: m }] }
routing: { maxRetries: 0 }
conversations: { store: memory }
`)
}, 60_000)

/** Ends every process group this file started (by its id) and the fake upstream. */
afterAll(async () => {
  for (const child of started) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  await upstream?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

interface Launched {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

/**
 * `pnpm <args>` from the repo root, leader of a new process group (as under a supervisor).
 * pnpm runs on a real Node binary: its `#!/usr/bin/env node` would find the test runner's
 * `node_modules/.bin/node` wrapper first on PATH, and the signal would stop at that wrapper.
 */
const launch = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Launched => {
  const child = spawn(process.execPath, [pnpm, ...args], {
    cwd: ROOT,
    detached: true,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, NO_COLOR: "1", ...env }
  })
  started.push(child)
  let stderr = ""
  child.stdout!.on("data", (d) => (stderr += d))
  child.stderr!.on("data", (d) => (stderr += d))
  return { child, stderr: () => stderr, exited: new Promise((ok) => child.on("close", (code) => ok(code))) }
}

const listening = async (l: Launched) => {
  const deadline = Date.now() + 45_000
  while (!/listening on http/.test(l.stderr())) {
    if (Date.now() > deadline || l.child.exitCode !== null) throw new Error(`no listening line in: ${l.stderr()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** True while any process of the group `pgid` is alive. */
const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

describe("pnpm start under a supervisor", () => {
  it("SIGTERM to pnpm lets the open stream finish, then the whole process tree exits", async () => {
    const gw = launch(["-s", "start"], { LLM_GATEWAY_CONFIG: configFile })
    await listening(gw)
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "up/m", stream: true, messages: [{ role: "user", content: "count" }] })
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    await reader.read()
    const signalledAt = performance.now()
    process.kill(gw.child.pid!, "SIGTERM")
    let text = ""
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value)
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true)
    // the server (not only pnpm) stopped: every process of the group is gone well within
    // the default 10 s grace
    while (groupAlive(gw.child.pid!) && performance.now() - signalledAt < 8_000) await new Promise((r) => setTimeout(r, 50))
    expect(groupAlive(gw.child.pid!)).toBe(false)
    expect(await gw.exited).toBe(0)
    expect(gw.stderr()).toContain("shutting down")
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow()
  }, 60_000)

  it("a second instance on a busy port says the port is in use, without a stack trace", async () => {
    const first = launch(["-s", "gateway", "serve", "--config", configFile])
    await listening(first)
    const second = launch(["-s", "gateway", "serve", "--config", configFile])
    const code = await second.exited
    expect(code).not.toBe(0)
    expect(second.stderr()).toContain(`error: port ${port} is in use`)
    expect(second.stderr()).not.toMatch(/^\s+at /m)
    process.kill(first.child.pid!, "SIGTERM")
    expect(await first.exited).toBe(0)
  }, 60_000)
})

/** `gateway serve` run directly (no pnpm): start-up checks need no supervisor. */
const serveWith = (yaml: string): Promise<{ code: number | null; stderr: string }> =>
  new Promise((done) => {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.yaml`)
    writeFileSync(file, yaml)
    const child = spawn(process.execPath, [join(ROOT, "packages/server/dist-bundle/cli.js"), "serve", "--config", file], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1" }
    })
    started.push(child)
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    // a start-up that hangs instead of failing is what these tests catch
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      done({ code, stderr })
    })
  })

const PROVIDER = `providers:\n  - { name: up, type: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ id: m }] }\n`

describe("start-up validation", () => {
  it("a malformed redis.url or an unusable SQLite path fails at once with one line naming the key", async () => {
    const [redis, sqlite] = await Promise.all([
      serveWith(`server: { port: 0 }\n${PROVIDER}redis: { url: "redis://:canarypass@cache:notaport" }\nconversations: { store: memory }\n`),
      serveWith(`server: { port: 0 }\n${PROVIDER}conversations: { store: sqlite, path: /proc/llm-gateway/conversations.db }\n`)
    ])
    expect(redis.code).toBe(1)
    expect(redis.stderr).toContain("error: redis.url: expected a redis:// or rediss:// URL")
    expect(redis.stderr).not.toContain("canarypass")
    expect(sqlite.code).toBe(1)
    expect(sqlite.stderr).toContain("error: conversations.path: cannot create files under /proc")
    for (const r of [redis, sqlite]) {
      expect(r.stderr).not.toMatch(/^\s+at /m)
      expect(r.stderr).not.toContain("listening on")
    }
  }, 60_000)
})
