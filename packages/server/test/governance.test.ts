/**
 * Issue 17 through the HTTP API: virtual keys made with the admin API and used with the official
 * `openai` client, revocation (at once here, within 1 s on another instance sharing the store),
 * budgets refused before any upstream call, the usage API over the ledger, and
 * `/api/v1/llm/status` scoped to the caller.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const ADMIN = "admin-key-0123456789abcdef"
const STATIC = "static-key-0123456789"
const dir = mkdtempSync(join(tmpdir(), "llmgw-governance-"))

let fakes: Fakes
let gw: Gateway
let other: Gateway

const config = () =>
  configFor(fakes, {
    server: { apiKeys: [STATIC], adminKeys: [ADMIN] },
    database: { path: join(dir, "gateway.db") },
    // budget reservations and per-key limits shared by both instances
    redis: { url: process.env.REDIS_URL },
    ledger: { flushMs: 200 }
  })

beforeAll(async () => {
  fakes = await startFakes()
  // two instances on one host share the SQLite store
  gw = await startGateway(config())
  other = await startGateway(config())
})
afterAll(async () => {
  await gw?.close()
  await other?.close()
  await fakes?.close()
  rmSync(dir, { recursive: true, force: true })
})

const adminCall = (g: Gateway, method: string, path: string, body?: unknown) =>
  raw(`${g.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { authorization: `Bearer ${ADMIN}` } })

const ask = (g: Gateway, key: string, maxTokens = 100) =>
  g.client(key).chat.completions.create({ model: "openai/gpt-4o-mini", max_tokens: maxTokens, messages: [{ role: "user", content: unique("hi") }] })

describe("admin API and virtual keys", () => {
  it("needs an admin key: a gateway key or none is 401", async () => {
    for (const headers of [{}, { authorization: `Bearer ${STATIC}` }] as Array<Record<string, string>>) {
      const r = await raw(`${gw.url}/admin/v1/keys`, { method: "GET", headers })
      expect(r.status).toBe(401)
    }
  })

  it("POST /admin/v1/keys → 201 { id, key }: the key works with the official client, is listed without its secret, and a revoke is 401 at once here and within 1 s on the other instance", async () => {
    const created = await adminCall(gw, "POST", "/admin/v1/keys", { name: "ci", team: "platform", models: ["openai/*"], rpm: 100 })
    expect(created.status).toBe(201)
    const { id, key } = created.json as { id: string; key: string }
    expect(key).toMatch(/^sk-gw-/)
    expect((await ask(gw, key)).choices[0].message.content).toBe("Hello from the fake upstream.")
    expect((await ask(other, key)).choices[0].message.content).toBe("Hello from the fake upstream.")

    const list = await adminCall(gw, "GET", "/admin/v1/keys")
    expect(JSON.stringify(list.json)).not.toContain(key)
    expect((list.json as any).data.find((k: any) => k.id === id)).toMatchObject({ name: "ci", team: "platform", rpm: 100, status: "active" })

    // a model outside the key's patterns is refused before any upstream call
    const before = fakes.anthropic.requests.length
    const refused = await raw(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "anthropic/claude-3-haiku-20240307", messages: [{ role: "user", content: "x" }] }),
      headers: { authorization: `Bearer ${key}` }
    })
    expect(refused.status).toBe(403)
    expect(refused.json).toMatchObject({ error: { code: "model_not_allowed" } })
    expect(fakes.anthropic.requests.length).toBe(before)

    expect((await adminCall(gw, "DELETE", `/admin/v1/keys/${id}`)).status).toBe(200)
    const local = await ask(gw, key).then(() => undefined, (e: unknown) => e)
    expect(local).toBeInstanceOf(OpenAI.AuthenticationError)
    const started = Date.now()
    let remote: unknown
    while (Date.now() - started < 2000) {
      remote = await ask(other, key).then(() => undefined, (e: unknown) => e)
      if (remote !== undefined) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(remote).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(Date.now() - started).toBeLessThan(1000)

    const audit = await adminCall(gw, "GET", "/admin/v1/audit")
    expect((audit.json as any).data.filter((e: any) => e.target === id).map((e: any) => e.action)).toEqual(["key.create", "key.revoke"])
  })

  it("a budget that fits 3 worst cases at once: concurrent requests past it get 429 budget_exceeded before any upstream call, spend stays within it", async () => {
    // worst case of one request: (~20 prompt tokens × 0.15 + 100 × 0.6) / 1M ≈ 0.0000636 USD;
    // its real cost (the fake's short answer) is far less, so settled requests free room again
    const budgetUsd = 0.0002
    const created = await adminCall(gw, "POST", "/admin/v1/keys", { name: "budgeted", budgetUsd, budgetPeriod: "day" })
    const { id, key } = created.json as { id: string; key: string }
    const upstreamBefore = fakes.openai.requests().length
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) =>
      raw(`${(i % 2 === 0 ? gw : other).url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: unique("hi") }] }),
        headers: { authorization: `Bearer ${key}` }
      })))
    const ok = results.filter((r) => r.status === 200)
    const refused = results.filter((r) => r.status === 429)
    expect(ok.length + refused.length).toBe(60)
    expect(ok.length).toBeGreaterThanOrEqual(3)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0].json).toMatchObject({ error: { type: "RateLimitExceeded", code: "budget_exceeded" } })
    expect((refused[0].json as any).error.message).toMatch(/USD remaining/)
    expect(refused[0].headers.get("x-llm-budget-remaining-usd")).toMatch(/^\d+\.\d{6}$/)
    // refused requests never reached the upstream
    expect(fakes.openai.requests().length - upstreamBefore).toBe(ok.length)

    // the usage API shows every request within 5 s (the refused ones as rows of no model, at no
    // cost), and its spend is within the budget
    let usage: any
    const started = Date.now()
    do {
      await new Promise((r) => setTimeout(r, 100))
      usage = (await adminCall(gw, "GET", `/admin/v1/usage?key=${id}`)).json
    } while (usage.totals.requests < 60 && Date.now() - started < 5000)
    expect(usage.totals.requests).toBe(60)
    expect(usage.totals.costUsd).toBeLessThanOrEqual(budgetUsd)
    expect(usage.rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ model: "gpt-4o-mini", provider: "openai", requests: ok.length }),
      expect.objectContaining({ model: "", provider: "", requests: refused.length, costUsd: 0 })
    ]))
  })

  it("/api/v1/llm/status shows the caller's own usage; an admin key sees every tenant", async () => {
    const a = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "tenant-a" })).json as { key: string }
    const b = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "tenant-b" })).json as { key: string }
    await ask(gw, a.key)
    await ask(gw, a.key)
    await ask(gw, b.key)
    const statusOf = async (key: string) =>
      (await raw(`${gw.url}/api/v1/llm/status`, { method: "GET", headers: { authorization: `Bearer ${key}` } })).json as any
    expect((await statusOf(a.key)).usage.requests).toBe(2)
    expect((await statusOf(b.key)).usage.requests).toBe(1)
    expect((await statusOf(ADMIN)).usage.requests).toBeGreaterThanOrEqual(3 + 3)
  })
})

/** The ledger's stored rows matching `where`, once there are at least `n` (the writer flushes every 200 ms). */
const ledgerRows = async (where: string, n: number): Promise<Array<Record<string, unknown>>> => {
  let rows: Array<Record<string, unknown>> = []
  for (let i = 0; i < 50 && rows.length < n; i++) {
    await new Promise((r) => setTimeout(r, 100))
    const db = new DatabaseSync(join(dir, "gateway.db"), { readOnly: true })
    try {
      rows = db.prepare(`SELECT key_id, task, model, status, prompt_tokens, cost_usd FROM gateway_usage WHERE ${where} ORDER BY at`).all() as Array<Record<string, unknown>>
    } finally {
      db.close()
    }
  }
  return rows
}

describe("every call an upstream may serve goes through keys, budgets and the ledger", () => {
  it("POST /v1/embeddings: a key's allowed models apply (403 model_not_allowed, its row stored with status 403); an allowed call is a ledger row of task embedding with its tokens", async () => {
    const chatOnly = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "chat-only", models: ["openai/gpt-4o-mini"] })).json as { id: string; key: string }
    const refused = await gw.client(chatOnly.key).embeddings.create({ model: "openai/text-embedding-3-small", input: ["x"] }).then(() => undefined, (e: unknown) => e)
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((refused as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe("model_not_allowed")

    const embedder = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "embedder", models: ["openai/text-embedding-*"] })).json as { id: string; key: string }
    const ok = await gw.client(embedder.key).embeddings.create({ model: "openai/text-embedding-3-small", input: ["hello world", "again"] })
    expect(ok.data).toHaveLength(2)

    expect(await ledgerRows(`key_id = '${chatOnly.id}'`, 1)).toEqual([expect.objectContaining({ status: 403, task: "embedding", model: "" })])
    const [row] = await ledgerRows(`key_id = '${embedder.id}'`, 1)
    expect(row).toMatchObject({ status: 200, task: "embedding", model: "text-embedding-3-small" })
    expect(row.prompt_tokens).toBeGreaterThan(0)
    const usage = (await adminCall(gw, "GET", `/admin/v1/usage?key=${embedder.id}`)).json as any
    expect(usage.rows).toEqual([expect.objectContaining({ model: "text-embedding-3-small", provider: "openai", requests: 1 })])
  })

  it("a chat refused over its budget (429) is a ledger row with status 429", async () => {
    const broke = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "broke", budgetUsd: 0.0000001, budgetPeriod: "day" })).json as { id: string; key: string }
    const refused = await ask(gw, broke.key).then(() => undefined, (e: unknown) => e)
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    expect(await ledgerRows(`key_id = '${broke.id}'`, 1)).toEqual([expect.objectContaining({ status: 429, task: "general", cost_usd: 0 })])
  })

  it("alert classification (generateObject) writes ledger rows of its task", async () => {
    const webhook = readFileSync(new URL("../../ops/test/fixtures/alertmanager-webhook.json", import.meta.url), "utf8")
    const res = await raw(`${gw.url}/api/v1/alerts/classify`, { method: "POST", body: webhook, headers: { authorization: `Bearer ${STATIC}` } })
    expect(res.status).toBe(200)
    // the fake answers prose, not JSON: the first call and its one repair, each a row
    const rows = await ledgerRows("task = 'alert-classification'", 2)
    expect(rows.length).toBeGreaterThanOrEqual(2)
    expect(rows[0]).toMatchObject({ status: 200, model: "gpt-4o-mini" })
  })
})

describe("GET /admin/v1/usage?groupBy=", () => {
  it("groups per task, key or team (default model), each row naming its group; an unknown groupBy is 400", async () => {
    const team = unique("squad")
    const a = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "ga", team })).json as { id: string; key: string }
    const b = (await adminCall(gw, "POST", "/admin/v1/keys", { name: "gb", team })).json as { id: string; key: string }
    const chat = (key: string, task: string) =>
      gw.client(key).chat.completions.create({ model: "openai/gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: unique("hi") }] }, { headers: { "x-llm-task": task } })
    await chat(a.key, "analysis")
    await chat(a.key, "sql")
    await chat(b.key, "analysis")
    const usage = async (q: string) => (await adminCall(gw, "GET", `/admin/v1/usage?team=${team}&${q}`)).json as any
    const byTask = await usage("groupBy=task")
    expect(byTask.groupBy).toBe("task")
    expect(byTask.rows.map((r: any) => [r.task, r.requests]).sort()).toEqual([["analysis", 2], ["sql", 1]])
    expect(byTask.totals.requests).toBe(3)
    expect((await usage("groupBy=key")).rows.map((r: any) => [r.key, r.requests]).sort()).toEqual([[a.id, 2], [b.id, 1]].sort())
    expect((await usage("groupBy=team")).rows).toEqual([expect.objectContaining({ team, requests: 3 })])
    expect((await usage("")).rows).toEqual([expect.objectContaining({ model: "gpt-4o-mini", provider: "openai", requests: 3 })])
    // a task name nobody configured is accounted as `general`: the raw header is never a dimension
    await chat(b.key, "x".repeat(4096))
    const after = await usage("groupBy=task")
    expect(after.rows.map((r: any) => [r.task, r.requests]).sort()).toEqual([["analysis", 2], ["general", 1], ["sql", 1]])
    const bad = await adminCall(gw, "GET", "/admin/v1/usage?groupBy=colour")
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ error: { param: "groupBy" } })
  })
})
