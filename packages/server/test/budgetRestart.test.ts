/**
 * A budget survives a restart: on the default store (SQLite, no Redis) the budget counters are
 * the instance's memory, and a restarted gateway used to start every key's spend at 0. Now a
 * counter starts from the period's spend in the usage ledger (`UsageLedger.ledgerSeed`).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const ADMIN = "admin-key-0123456789abcdef"
const dir = mkdtempSync(join(tmpdir(), "llmgw-budget-restart-"))

let fakes: Fakes
let gw: Gateway | undefined

beforeAll(async () => {
  fakes = await startFakes()
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
  rmSync(dir, { recursive: true, force: true })
})

const config = () => configFor(fakes, { server: { adminKeys: [ADMIN] }, database: { path: join(dir, "gateway.db") }, ledger: { flushMs: 200 } })

const adminCall = (g: Gateway, method: string, path: string, body?: unknown) =>
  raw(`${g.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { authorization: `Bearer ${ADMIN}` } })

const chat = (g: Gateway, key: string) =>
  raw(`${g.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: unique("hi") }] }),
    headers: { authorization: `Bearer ${key}` }
  })

describe("budgets across a restart (memory budget store)", () => {
  it("a restarted gateway counts what the key spent before: the period's budget is not handed back", async () => {
    gw = await startGateway(config())
    const { id, key } = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "restarted", budgetUsd: 1, budgetPeriod: "day" })).json as { id: string; key: string }
    for (let i = 0; i < 5; i++) expect((await chat(gw, key)).status).toBe(200)
    // closing writes the ledger's buffer; the new instance has nothing in memory
    await gw.close()
    gw = await startGateway(config())

    const usage = (await adminCall(gw, "GET", `/admin/v1/usage?key=${id}`)).json as { totals: { requests: number; costUsd: number } }
    expect(usage.totals.requests).toBe(5)
    const spent = usage.totals.costUsd
    expect(spent).toBeGreaterThan(0)
    // one micro-dollar left of what was spent: room for no request (a fresh counter had room for several)
    expect((await adminCall(gw, "PATCH", `/admin/v1/keys/${id}`, { budgetUsd: spent + 0.000001 })).status).toBe(200)
    const before = fakes.openai.requests().length
    const refused = await chat(gw, key)
    expect(refused.status).toBe(429)
    expect(refused.json).toMatchObject({ error: { code: "budget_exceeded" } })
    expect(refused.headers.get("x-llm-budget-remaining-usd")).toBe("0.000001")
    expect(fakes.openai.requests().length).toBe(before)
  })
})
