/**
 * The ledger's batch as columns (src/internal/ledgerColumns.ts), as the writer thread receives it:
 * encoded, sent through a real MessagePort (structured clone, the numbers' buffers transferred),
 * decoded — the rows the ledger had, field for field (nulls, empty strings, -0, NaN, bodies
 * present, null, undefined or absent), and the sender's typed arrays are moved, not copied.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MessageChannel } from "node:worker_threads"
import { decodeRows, encodeRows, type LedgerColumns, transferables } from "../src/internal/ledgerColumns.ts"
import type { LedgerRow } from "../src/internal/ledgerTypes.ts"
import { ledgerRow } from "./fixtures/ledgerRow.ts"

const text = fc.oneof(fc.constantFrom("", "default", "openai", "gpt-4o-mini", "général ✓"), fc.string())
const number = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.double(), fc.constantFrom(-0, Number.NaN, 0.1 + 0.2))
const row: fc.Arbitrary<LedgerRow> = fc.record({
  at: number,
  keyId: fc.option(text, { nil: null }),
  team: fc.option(text, { nil: null }),
  scope: text,
  task: text,
  requestedModel: fc.option(text, { nil: null }),
  model: text,
  provider: text,
  attempts: fc.nat(9),
  status: fc.constantFrom(200, 400, 429, 502),
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
  reasoningTokens: number,
  costUsd: number,
  latencyMs: number,
  cacheHit: fc.boolean(),
  body: fc.option(fc.string(), { nil: null })
}, { noNullPrototype: true, requiredKeys: ["at", "keyId", "team", "scope", "task", "requestedModel", "model", "provider", "attempts", "status", "promptTokens", "completionTokens", "cachedTokens", "reasoningTokens", "costUsd", "latencyMs", "cacheHit"] })

const viaPort = (columns: LedgerColumns): Promise<LedgerColumns> => {
  const { port1, port2 } = new MessageChannel()
  return new Promise((received) => {
    port2.once("message", (m: LedgerColumns) => {
      port1.close()
      received(m)
    })
    port1.postMessage(columns, transferables(columns))
  })
}

describe("ledger rows as columns (the writer thread's message)", () => {
  it("decode(send(encode(rows))) is the rows", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 40 }), async (rows) => {
        const columns = encodeRows(rows)
        const received = await viaPort(columns)
        expect(decodeRows(received)).toStrictEqual(rows)
        // moved to the receiver: nothing of them left with the sender
        expect(columns.numbers.length).toBe(0)
      }),
      { numRuns: 300 }
    )
  })

  it("an explicit undefined body stays a key; a missing one stays missing", async () => {
    const base = (await viaPort(encodeRows([{ ...sample, body: undefined }, sample])))
    const [withKey, without] = decodeRows(base)
    expect("body" in withKey).toBe(true)
    expect("body" in without).toBe(false)
  })

  it("each distinct string is sent once", () => {
    const columns = encodeRows(Array.from({ length: 1000 }, (_, i) => ({ ...sample, at: i })))
    expect(columns.strings).toEqual(["", "default", "general", "bench/bench-fast", "bench-fast", "bench"])
  })
})

const sample: LedgerRow = ledgerRow({ at: 1, scope: "default", requestedModel: "bench/bench-fast", model: "bench-fast", provider: "bench" })
