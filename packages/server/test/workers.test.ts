/**
 * `gateway serve --workers 2`: a node:cluster primary with two gateway workers on one port.
 * Both workers answer requests, and SIGTERM to the primary (what a supervisor sends) stops
 * every process. Linux only (/proc tells the workers and their socket writes apart).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:http"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const CLI = resolve(import.meta.dirname, "../src/cli.ts")

const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const probe = createServer()
    probe.once("error", fail)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? ok(address.port) : fail(new Error("no port"))))
    })
  })

/** One chat completion on a connection of its own (so the primary hands each to the next worker). */
const chat = (port: number): Promise<number> =>
  new Promise((ok, fail) => {
    const body = JSON.stringify({ model: "up/m", messages: [{ role: "user", content: "hi" }] })
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/chat/completions",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" }
    }, (res) => {
      res.resume()
      res.on("end", () => ok(res.statusCode ?? 0))
    })
    req.on("error", fail)
    req.end(body)
  })

const childrenOf = (pid: number): Array<number> =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((s) => s !== "").map(Number)

/** Write-type system calls of a process so far: each answered request adds some. */
const writes = (pid: number): number => Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? Number.NaN)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let upstream: FakeOpenAI
let dir: string
let primary: ChildProcess | undefined

beforeAll(async () => {
  upstream = await startFakeOpenAI({ reply: "one two three" })
  dir = mkdtempSync(join(tmpdir(), "gateway-workers-"))
}, 30_000)

afterAll(async () => {
  if (primary?.pid !== undefined) {
    for (const pid of existsSync(`/proc/${primary.pid}`) ? childrenOf(primary.pid) : []) process.kill(pid, "SIGKILL")
    if (alive(primary.pid)) process.kill(primary.pid, "SIGKILL")
  }
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("gateway serve --workers", () => {
  it("two workers both answer on one port; SIGTERM to the primary stops them all", async () => {
    const port = await freePort()
    const config = join(dir, "gateway.yaml")
    writeFileSync(config, `
server: { host: 127.0.0.1, port: ${port} }
providers:
  - { name: up, type: openai-compatible, baseUrl: "${upstream.baseUrl}", models: [{ id: m }] }
conversations: { store: memory }
database: { path: ${join(dir, "gateway.db")} }
`)
    const child = spawn(process.execPath, [CLI, "serve", "--config", config, "--workers", "2"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1" }
    })
    primary = child
    let stderr = ""
    child.stderr!.on("data", (d) => (stderr += d))
    child.stdout!.on("data", (d) => (stderr += d))
    const exited = new Promise<number | null>((ok) => child.on("close", (code) => ok(code)))
    const deadline = Date.now() + 90_000
    while ((stderr.match(/listening on http/g) ?? []).length < 2) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`two workers did not start: ${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const workers = childrenOf(child.pid!)
    expect(workers).toHaveLength(2)

    const before = workers.map(writes)
    const statuses: Array<number> = []
    for (let i = 0; i < 8; i++) statuses.push(await chat(port))
    expect(statuses).toEqual(Array(8).fill(200))
    // each worker wrote answers (round-robin hands every other connection to the next worker)
    const grew = workers.map((pid, i) => writes(pid) - before[i])
    for (const n of grew) expect(n).toBeGreaterThanOrEqual(4)

    const signalledAt = performance.now()
    process.kill(child.pid!, "SIGTERM")
    expect(await exited).toBe(0)
    expect(performance.now() - signalledAt).toBeLessThan(10_000)
    for (const pid of workers) expect(alive(pid)).toBe(false)
    expect((stderr.match(/shutting down/g) ?? []).length).toBe(2)
  }, 120_000)
})
