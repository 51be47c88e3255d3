/**
 * `ledger.storeBodies: true` (issue 17): the ledger row keeps the request and the answer,
 * redacted of secrets and capped; without it, no body is stored.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MAX_BODY_CHARS } from "../src/internal/ledgerBodies.ts"
import { CANARY_KEY, type Fakes, type Gateway, onlyProviders, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY = "gw-bodies-key-0123456789"
const dir = mkdtempSync(join(tmpdir(), "llmgw-bodies-"))
let fakes: Fakes
let on: Gateway
let off: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  const config = (name: string, storeBodies: boolean) =>
    onlyProviders(fakes, ["openai"], {
      server: { apiKeys: [KEY] },
      database: { path: join(dir, `${name}.db`) },
      ledger: { storeBodies, flushMs: 100 }
    })
  ;[on, off] = await Promise.all([startGateway(config("on", true)), startGateway(config("off", false))])
})
afterAll(async () => {
  await on?.close()
  await off?.close()
  await fakes?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The stored bodies, once the ledger has written `n` rows. */
const bodies = async (name: string, n: number): Promise<Array<string | null>> => {
  for (let i = 0; i < 50; i++) {
    try {
      const db = new DatabaseSync(join(dir, `${name}.db`), { readOnly: true })
      try {
        const rows = db.prepare("SELECT body FROM gateway_usage ORDER BY at").all() as Array<{ body: string | null }>
        if (rows.length >= n) return rows.map((r) => r.body)
      } finally {
        db.close()
      }
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`no ${n} ledger rows in ${name}.db`)
}

const secretPrompt = (label: string) =>
  `${unique(label)} my keys: sk-proj-abcdefghijklmn, Bearer eyJhbGciOiJIUzI1NiJ9.payload, AKIAIOSFODNN7EXAMPLE, password=hunter2hunter, the gateway's own ${KEY} and its provider's ${CANARY_KEY}. ${"lorem ipsum ".repeat(2000)}`

describe("ledger.storeBodies", () => {
  it("true: each row keeps the request and the answer (JSON and stream), without any secret, capped", async () => {
    const client = on.client(KEY)
    await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: secretPrompt("json") }] })
    const stream = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "stream please" }], stream: true })
    for await (const _ of stream) { /* drain */ }
    const [json, streamed] = (await bodies("on", 2)).map((b) => JSON.parse(b!) as { request: string; response: string })
    expect(json.response).toBe("Hello from the fake upstream.")
    expect(json.request).toContain("my keys:")
    for (const secret of ["sk-proj-abcdefghijklmn", "eyJhbGciOiJIUzI1NiJ9", "AKIAIOSFODNN7EXAMPLE", "hunter2hunter", KEY, CANARY_KEY]) {
      expect(JSON.stringify(json)).not.toContain(secret)
    }
    expect(json.request).toContain("[redacted]")
    expect(JSON.stringify(json).length).toBeLessThanOrEqual(MAX_BODY_CHARS)
    expect(json.request).toMatch(/…\[\d+ more chars\]$/)
    expect(streamed.request).toContain("stream please")
    expect(streamed.response).toBe("Hello from the fake upstream.")
  })

  it("false (the default): no body is stored", async () => {
    await off.client(KEY).chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: secretPrompt("off") }] })
    expect(await bodies("off", 1)).toEqual([null])
  })
})
