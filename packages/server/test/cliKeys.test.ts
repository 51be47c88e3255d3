/**
 * `gateway keys create|list|revoke|usage` as a user runs it (a child process on Node 24) against
 * a running gateway's admin API, the admin key from `LLM_GATEWAY_ADMIN_KEY` or `--admin-key`.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Gateway, startGateway } from "./support/harness.ts"

const CLI = resolve(import.meta.dirname, "../src/cli.ts")
const ADMIN = "gw-admin-cli-0123"

let upstream: FakeOpenAI
let gw: Gateway
let dir: string

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (args: ReadonlyArray<string>, extra: Record<string, string> = { LLM_GATEWAY_ADMIN_KEY: ADMIN }): Promise<Ran> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [CLI, "keys", ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1", LLM_GATEWAY_URL: gw.url, ...extra },
      cwd: dir
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => done({ code, stdout, stderr }))
  })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gateway-cli-keys-"))
  upstream = await startFakeOpenAI({ reply: "hello from upstream", apiKey: "sk-upstream" })
  gw = await startGateway({
    server: { adminKeys: [ADMIN] },
    providers: [{
      name: "openai",
      type: "openai",
      baseUrl: `${upstream.url}/v1`,
      apiKey: "sk-upstream",
      models: [{ id: "gpt-4o-mini", inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
    }],
    database: { path: join(dir, "gateway.db") },
    ledger: { flushMs: 100 }
  } as never)
})

afterAll(async () => {
  await gw?.close()
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("gateway keys", () => {
  it("create prints the key alone on stdout; it works with the OpenAI SDK; usage shows its request; revoke makes it a 401; list shows it revoked", async () => {
    const created = await run(["create", "ci-bot", "--team", "platform", "--rpm", "100", "--budget-usd", "5", "--budget-period", "day"])
    expect(created.stderr).toContain("shown only now")
    expect(created.code).toBe(0)
    const key = created.stdout.trim()
    expect(key).toMatch(/^sk-gw-/)
    const id = /created key (\S+)/.exec(created.stderr)![1]

    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: key, maxRetries: 0 })
    const answer = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
    expect(answer.choices[0].message.content).toBe("hello from upstream")

    const usage = await run(["usage", "--key", id, "--json"])
    expect(usage.code).toBe(0)
    const report = JSON.parse(usage.stdout) as { key: string; totals: { requests: number; costUsd: number }; rows: Array<{ model: string }> }
    expect(report.key).toBe(id)
    expect(report.totals.requests).toBe(1)
    expect(report.totals.costUsd).toBeGreaterThan(0)
    expect(report.rows.map((r) => r.model)).toEqual(["gpt-4o-mini"])
    const table = await run(["usage", "--key", id])
    expect(table.stdout).toMatch(/openai\/gpt-4o-mini\s+1\s/)
    expect(table.stdout).toMatch(/total\s+1\s/)

    // the admin key as a flag this time, no env
    const revoked = await run(["revoke", id, "--admin-key", ADMIN], {})
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toBe(`revoked ${id} (ci-bot)\n`)
    const refused = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "again" }] })
      .then(() => undefined, (e: unknown) => e)
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(401)

    const list = await run(["list"])
    expect(list.code).toBe(0)
    const row = list.stdout.split("\n").find((l) => l.startsWith(id))
    expect(row).toMatch(/ci-bot\s+platform\s+revoked\s+5 USD\/day\s+100\s+-\s+\*/)
    expect(list.stdout).not.toContain(key)
  }, 60_000)

  it("without an admin key, or with a wrong one, it says so on stderr and exits 1", async () => {
    const [none, wrong] = await Promise.all([run(["list"], {}), run(["list"], { LLM_GATEWAY_ADMIN_KEY: "not-an-admin-key" })])
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("LLM_GATEWAY_ADMIN_KEY")
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^error: 401 /)
    expect(wrong.stdout).toBe("")
  }, 20_000)
})
