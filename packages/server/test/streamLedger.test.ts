/**
 * A streamed chat's ledger row and budget settle, however the stream ends: answered in full (its
 * model, tokens and cost), cut off by the upstream mid-stream (the typed error's status), or
 * abandoned by the client (499). The server keeps this bookkeeping inside the manager's own
 * stream stage (`CallContext.observe`), so each way a stream can end is checked here.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Gateway, raw, startGateway, unique } from "./support/harness.ts"

const ADMIN = "admin-key-0123456789abcdef"
const dir = mkdtempSync(join(tmpdir(), "llmgw-stream-ledger-"))

let fake: FakeOpenAI
let gw: Gateway
let key: { id: string; key: string }

beforeAll(async () => {
  // eight chunks 40 ms apart: a client can leave part-way
  fake = await startFakeOpenAI({ reply: "one two three four five six seven eight", chunks: 8, chunkIntervalMs: 40 })
  gw = await startGateway({
    providers: [{
      name: "openai",
      type: "openai-compatible",
      baseUrl: fake.baseUrl,
      models: [{ id: "gpt-4o-mini", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
    }],
    routing: { fallbackOrder: ["openai/gpt-4o-mini"], maxRetries: 0 },
    server: { adminKeys: [ADMIN] },
    database: { path: join(dir, "gateway.db") },
    ledger: { flushMs: 100 }
  } as never)
  const created = await raw(`${gw.url}/admin/v1/keys`, {
    method: "POST",
    body: JSON.stringify({ name: "streams", budgetUsd: 1, budgetPeriod: "day" }),
    headers: { authorization: `Bearer ${ADMIN}` }
  })
  key = created.json as { id: string; key: string }
})
afterAll(async () => {
  await gw?.close()
  await fake?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The ledger rows of the test's key whose prompt was `marker`'s request, once `n` are written. */
const rowsOf = async (n: number): Promise<Array<Record<string, unknown>>> => {
  let rows: Array<Record<string, unknown>> = []
  for (let i = 0; i < 50 && rows.length < n; i++) {
    await new Promise((r) => setTimeout(r, 100))
    const db = new DatabaseSync(join(dir, "gateway.db"), { readOnly: true })
    try {
      rows = db.prepare("SELECT model, status, completion_tokens, cost_usd FROM gateway_usage WHERE key_id = ? ORDER BY at").all(key.id) as Array<Record<string, unknown>>
    } finally {
      db.close()
    }
  }
  return rows
}

const streamRequest = (signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    signal,
    headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 50, stream: true, messages: [{ role: "user", content: unique("stream") }] })
  })

describe("a streamed chat's ledger row, however the stream ends", () => {
  it("answered in full, cut off by the upstream, abandoned by the client: one row each, with its status", async () => {
    const full = await (await streamRequest()).text()
    expect(full).toContain("[DONE]")

    fake.enqueueFault({ kind: "cutAfter", chunks: 2 })
    const cut = await (await streamRequest()).text()
    expect(cut).toContain("\"error\"")

    const controller = new AbortController()
    const res = await streamRequest(controller.signal)
    const reader = res.body!.getReader()
    await reader.read() // the first chunk is in: the answer is under way
    controller.abort()
    await reader.read().catch(() => undefined)

    const rows = await rowsOf(3)
    expect(rows.map((r) => r.status)).toEqual([200, 502, 499])
    expect(rows[0]).toMatchObject({ model: "gpt-4o-mini", completion_tokens: 8 })
    expect(rows[0].cost_usd).toBeGreaterThan(0)
    expect(rows[1].model).toBe("gpt-4o-mini")
  })
})
