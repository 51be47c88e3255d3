/**
 * Keys, budgets and the usage ledger on their real stores: SQLite files and the run's Postgres
 * for keys and the ledger, memory, Redis and Postgres for budget reservations.
 */
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import fc from "fast-check"
import { afterAll } from "vitest"
import { type BudgetLine, BudgetStore, type BudgetStoreShape } from "../src/BudgetStore.ts"
import { GatewayDatabase, GatewayDatabaseError } from "../src/GatewayDatabase.ts"
import { KeyStore } from "../src/KeyStore.ts"
import { LedgerFeature, type LedgerRow, UsageLedger } from "../src/UsageLedger.ts"
import { ledgerRow } from "./fixtures/ledgerRow.ts"
import { databaseUrl, tempDir, uniquePrefix } from "./support.ts"

const tmp = tempDir("governance")
afterAll(tmp.cleanup)
let n = 0
const sqlite = () => GatewayDatabase.layer({ path: join(tmp.dir, `gateway-${++n}.db`) })

const stores = [
  ["SQLite", sqlite],
  ["Postgres", () => GatewayDatabase.layer({ url: databaseUrl() })]
] as const

for (const [name, dbLayer] of stores) {
  describe(`KeyStore on ${name}`, () => {
    it.effect("a key is shown once, kept as a salted hash, verified, rotated, revoked; every action audited", () =>
      Effect.gen(function*() {
        const keys = yield* KeyStore
        const team = `team-${uniquePrefix()}`
        yield* keys.createTeam({ name: team, budgetUsd: 5, budgetPeriod: "day" }, "admin:t")
        const { key, record } = yield* keys.create({ name: "ci", team, models: ["openai/*"], rpm: 10 }, "admin:t")
        expect(key).toMatch(/^sk-gw-[0-9a-f]{16}-/)
        expect(record).toMatchObject({ name: "ci", team, models: ["openai/*"], rpm: 10, budgetPeriod: "month", revokedAt: null })
        expect(JSON.stringify(record)).not.toContain(key.slice(23))
        expect(Option.getOrThrow(yield* keys.verify(key)).id).toBe(record.id)
        expect(Option.isNone(yield* keys.verify(key.slice(0, -1) + (key.endsWith("A") ? "B" : "A")))).toBe(true)

        const updated = Option.getOrThrow(yield* keys.update(record.id, { rpm: 20, budgetUsd: 1.5 }, "admin:t"))
        expect(updated).toMatchObject({ rpm: 20, budgetUsd: 1.5, models: ["openai/*"] })
        const rotated = Option.getOrThrow(yield* keys.rotate(record.id, "admin:t"))
        expect(Option.isNone(yield* keys.verify(key))).toBe(true)
        expect(Option.isSome(yield* keys.verify(rotated.key))).toBe(true)
        const revoked = Option.getOrThrow(yield* keys.revoke(record.id, "admin:t"))
        expect(revoked.revokedAt).not.toBeNull()
        expect(Option.getOrThrow(yield* keys.verify(rotated.key)).revokedAt).not.toBeNull()

        const audit = (yield* keys.audit).filter((a) => a.target === record.id || a.target === team)
        expect(audit.map((a) => a.action)).toEqual(["team.create", "key.create", "key.update", "key.rotate", "key.revoke"])
      }).pipe(Effect.provide(KeyStore.layer.pipe(Layer.provide(dbLayer())))))
  })

  describe(`UsageLedger on ${name}`, () => {
    const row = (over: Partial<LedgerRow>): LedgerRow => ledgerRow({ requestedModel: "auto", latencyMs: 12, ...over })
    it.live("sums per model over a range: partial days from rows, whole days from the daily rollup", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const key = uniquePrefix()
        const days = [9, 10, 11, 12].map((d) => Date.UTC(2025, 0, d, 12))
        for (const at of days) {
          ledger.record(row({ at, keyId: key, model: "m1" }))
          ledger.record(row({ at: at + 1, keyId: key, model: "m2", costUsd: 0.02 }))
        }
        ledger.record(row({ at: days[1], keyId: "other" }))
        yield* ledger.flush
        expect(ledger.stats().pending).toBe(0)
        // Jan 9 18:00 .. Jan 12 06:00: the 9th and 12th rows fall outside, 10th and 11th count
        const report = yield* ledger.query({ keyId: key, from: Date.UTC(2025, 0, 9, 18), to: Date.UTC(2025, 0, 12, 6) })
        expect(report.totals).toMatchObject({ requests: 4, promptTokens: 40, completionTokens: 20 })
        expect(report.totals.costUsd).toBeCloseTo(0.06, 9)
        expect(report.rows.map((r) => [r.model, r.requests])).toEqual([["m2", 2], ["m1", 2]])
        // a whole-day range (rollup only) and a same-day range (rows only) agree
        expect((yield* ledger.query({ keyId: key, from: Date.UTC(2025, 0, 9), to: Date.UTC(2025, 0, 13) })).totals.requests).toBe(8)
        expect((yield* ledger.query({ keyId: key, from: days[2], to: days[2] + 1 })).totals.requests).toBe(1)
      }).pipe(Effect.provide(UsageLedger.layer({ flushMs: 60_000 }).pipe(Layer.provide(dbLayer())))))

    it.live("groups per task, key or team: rows naming their group, from the raw rows and the rollup alike", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const team = `t-${uniquePrefix()}`
        const [k1, k2] = [`a-${uniquePrefix()}`, `b-${uniquePrefix()}`]
        const days = [10, 11].map((d) => Date.UTC(2025, 0, d, 12))
        for (const at of days) {
          ledger.record(row({ at, keyId: k1, team, task: "analysis", costUsd: 0.03 }))
          ledger.record(row({ at, keyId: k1, team, task: "sql", costUsd: 0.01 }))
          ledger.record(row({ at, keyId: k2, team, task: "analysis", costUsd: 0.02 }))
        }
        yield* ledger.flush
        // whole days (the rollup) plus a partial day (raw rows), then the same in the buffer
        ledger.record(row({ at: days[1] + 1, keyId: k2, team, task: "embedding", costUsd: 0.001 }))
        for (const range of [{ from: Date.UTC(2025, 0, 10), to: Date.UTC(2025, 0, 12) }, { from: Date.UTC(2025, 0, 10, 6), to: Date.UTC(2025, 0, 11, 18) }]) {
          const byTask = yield* ledger.query({ team, ...range, groupBy: "task" })
          expect(byTask.rows.map((r) => [r.task, r.requests])).toEqual([["analysis", 4], ["sql", 2], ["embedding", 1]])
          expect(byTask.rows[0].costUsd).toBeCloseTo(0.1, 9)
          expect(byTask.totals.requests).toBe(7)
          const byKey = yield* ledger.query({ team, ...range, groupBy: "key" })
          expect(byKey.rows.map((r) => [r.key, r.requests])).toEqual([[k1, 4], [k2, 3]])
          const byTeam = yield* ledger.query({ keyId: k1, ...range, groupBy: "team" })
          expect(byTeam.rows).toEqual([expect.objectContaining({ team, requests: 4 })])
          // the default stays per model
          expect((yield* ledger.query({ team, ...range })).rows).toEqual([expect.objectContaining({ model: "m1", provider: "p", requests: 7 })])
        }
        // rows of no key group as key null
        ledger.record(row({ at: days[0], scope: team }))
        expect((yield* ledger.query({ scope: team, from: days[0], to: days[0] + 1, groupBy: "key" })).rows).toEqual([expect.objectContaining({ key: null, requests: 1 })])
      }).pipe(Effect.provide(UsageLedger.layer({ flushMs: 60_000 }).pipe(Layer.provide(dbLayer())))))
  })
}

describe("UsageLedger migration 2 (the rollup's task)", () => {
  it.live("a ledger written before it gets its rollup rebuilt from the raw rows, with their tasks", () =>
    Effect.gen(function*() {
      const path = join(tmp.dir, "ledger-v1.db")
      const v1 = { name: "ledger", migrations: { "1_create_ledger": LedgerFeature.migrations["1_create_ledger"] } }
      yield* Effect.gen(function*() {
        const sql = yield* (yield* GatewayDatabase).open(v1)
        const at = Date.UTC(2025, 0, 10, 12)
        for (const task of ["analysis", "analysis", "sql"]) {
          yield* sql`INSERT INTO gateway_usage VALUES (${at}, 'k', NULL, 's', ${task}, NULL, 'm', 'p', 1, 200, 10, 5, 0, 0, 0.01, 1, 0, NULL)`
        }
        yield* sql`INSERT INTO gateway_usage_daily VALUES (${Date.UTC(2025, 0, 10)}, 's', 'k', '', 'm', 'p', 3, 30, 15, 0.03)`
      }).pipe(Effect.provide(GatewayDatabase.layer({ path })))
      const report = yield* Effect.flatMap(Effect.service(UsageLedger), (l) => l.query({ keyId: "k", from: Date.UTC(2025, 0, 10), to: Date.UTC(2025, 0, 11), groupBy: "task" })).pipe(
        Effect.provide(UsageLedger.layer({ flushMs: 60_000 }).pipe(Layer.provide(GatewayDatabase.layer({ path }))))
      )
      expect(report.rows.map((r) => [r.task, r.requests])).toEqual([["analysis", 2], ["sql", 1]])
      expect(report.totals).toMatchObject({ requests: 3, promptTokens: 30, completionTokens: 15 })
    }))
})

describe("UsageLedger while the store is down", () => {
  it.live("keeps rows in the buffer and writes them when the store is back; drops only past maxBuffer", () =>
    Effect.gen(function*() {
      let down = true
      const failing = Layer.effect(
        GatewayDatabase,
        Effect.map(Effect.service(GatewayDatabase), (real) =>
          GatewayDatabase.of({
            ...real,
            open: (f) => down ? Effect.fail(new GatewayDatabaseError({ message: "down" })) : real.open(f),
            openIfExists: (f) => down ? Effect.succeed(Option.none()) : real.openIfExists(f)
          }))
      ).pipe(Layer.provide(sqlite()))
      yield* Effect.gen(function*() {
        const ledger = yield* UsageLedger
        for (let i = 0; i < 120; i++) ledger.record({ ...baseRow, at: Date.now() - i })
        yield* ledger.flush
        expect(ledger.stats()).toEqual({ pending: 100, dropped: 20 })
        down = false
        yield* ledger.flush
        expect(ledger.stats()).toEqual({ pending: 0, dropped: 20 })
        const report = yield* ledger.query({ scope: "s", from: 0, to: Date.now() + 1 })
        expect(report.totals.requests).toBe(100)
      }).pipe(Effect.provide(UsageLedger.layer({ flushMs: 60_000, maxBuffer: 100, batchSize: 30 }).pipe(Layer.provide(failing))))
    }))
})

const baseRow: LedgerRow = {
  at: 0, keyId: null, team: null, scope: "s", task: "general", requestedModel: null, model: "m", provider: "p", attempts: 1,
  status: 200, promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, costUsd: 0.001, latencyMs: 1, cacheHit: false
}

describe("UsageLedger on Postgres with a large backlog", () => {
  // what an outage leaves behind: at 2000 rows a batch bound 36 000 parameters, past Postgres's
  // 32 767, and every write failed ("Failed to encode query") for as long as the backlog lasted
  it.live("writes 5000 buffered rows in statements Postgres accepts", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const scope = `backlog-${uniquePrefix()}`
      const at = Date.now() - 1000
      for (let i = 0; i < 5000; i++) ledger.record({ ...baseRow, at, scope })
      yield* ledger.flush
      expect(ledger.stats().pending).toBe(0)
      const report = yield* ledger.query({ scope, from: at - 1, to: Date.now() + 1 })
      expect(report.totals.requests).toBe(5000)
    }).pipe(Effect.provide(UsageLedger.layer({ flushMs: 60_000 }).pipe(Layer.provide(GatewayDatabase.layer({ url: databaseUrl() }))))))
})

/**
 * The budget guarantee as a property: whatever the costs and however reserve / settle
 * interleave, settled spend never exceeds the limit, and a request is refused only when its
 * worst case did not fit.
 */
const budgetProperty = (store: BudgetStoreShape, prefix: string) =>
  fc.assert(
    fc.asyncProperty(
      fc.double({ min: 0.5, max: 20, noNaN: true }),
      fc.array(fc.record({ worst: fc.double({ min: 0.01, max: 3, noNaN: true }), frac: fc.double({ min: 0, max: 1, noNaN: true }), delay: fc.nat(3) }), { minLength: 1, maxLength: 40 }),
      async (limitUsd, requests) => {
        const lines: Array<BudgetLine> = [{ id: `${prefix}:${uniquePrefix()}`, limitUsd }, { id: `${prefix}:${uniquePrefix()}`, limitUsd: limitUsd * 2 }]
        const outcomes = await Promise.all(requests.map(async (r) => {
          await new Promise((res) => setTimeout(res, r.delay))
          const reservation = await Effect.runPromise(store.reserve(lines, r.worst, 60_000))
          if (!reservation.ok) return { admitted: false, spent: 0, remaining: reservation.remainingUsd, worst: r.worst }
          await new Promise((res) => setTimeout(res, r.delay))
          const actual = r.worst * r.frac
          await Effect.runPromise(store.settle(reservation.id, lines, actual))
          return { admitted: true, spent: actual, remaining: 0, worst: r.worst }
        }))
        const spent = await Effect.runPromise(store.spent(lines[0]))
        expect(spent).toBeLessThanOrEqual(limitUsd + 1e-9)
        expect(spent).toBeCloseTo(outcomes.reduce((s, o) => s + o.spent, 0), 6)
        for (const o of outcomes) if (!o.admitted) expect(o.remaining).toBeLessThan(o.worst)
      }
    ),
    { numRuns: 40 }
  )

describe("BudgetStore", () => {
  it.live("memory: settled spend never exceeds the budget (random costs and interleavings)", () =>
    Effect.flatMap(BudgetStore, (store) => Effect.promise(() => budgetProperty(store, "mem"))).pipe(Effect.provide(BudgetStore.layerMemory)))

  it.live("Redis: the same guarantee through the Lua scripts", () =>
    Effect.flatMap(BudgetStore, (store) => {
      expect(store.kind).toBe("redis")
      return Effect.promise(() => budgetProperty(store, "redis"))
    }).pipe(Effect.provide(BudgetStore.layerRedis(Redacted.make(process.env.REDIS_URL!), `test:${uniquePrefix()}:`))))

  it.live("Postgres (no Redis): the same guarantee through one conditional UPDATE per budget row", () =>
    Effect.flatMap(BudgetStore, (store) => {
      expect(store.kind).toBe("postgres")
      return Effect.promise(() => budgetProperty(store, "pg"))
    }).pipe(Effect.provide(BudgetStore.layerPostgres.pipe(Layer.provide(GatewayDatabase.layer({ url: databaseUrl() }))))), 30_000)

  it.live("Postgres: an unsettled reservation expires and frees its room; a refusal reserves on no line", () =>
    Effect.gen(function*() {
      const store = yield* BudgetStore
      const key = { id: `pg:${uniquePrefix()}`, limitUsd: 1 }
      const team = { id: `pg:${uniquePrefix()}`, limitUsd: 10 }
      expect((yield* store.reserve([key, team], 0.8, 50)).ok).toBe(true)
      const refused = yield* store.reserve([key, team], 0.8, 50)
      expect(refused.ok).toBe(false)
      if (!refused.ok) {
        expect(refused.line.id).toBe(key.id)
        expect(refused.remainingUsd).toBeCloseTo(0.2, 9)
      }
      // the refusal left the team line as it was: 9.2 USD of room there, not 8.4
      expect((yield* store.reserve([team], 9.2, 50)).ok).toBe(true)
      yield* Effect.sleep(80)
      expect((yield* store.reserve([key, team], 0.8, 60_000)).ok).toBe(true)
    }).pipe(Effect.provide(BudgetStore.layerPostgres.pipe(Layer.provide(GatewayDatabase.layer({ url: databaseUrl() }))))))

  it.live("a reservation its instance never settles expires and frees its room", () =>
    Effect.gen(function*() {
      const store = yield* BudgetStore
      const lines = [{ id: uniquePrefix(), limitUsd: 1 }]
      expect((yield* store.reserve(lines, 0.8, 50)).ok).toBe(true)
      const refused = yield* store.reserve(lines, 0.8, 50)
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.remainingUsd).toBeCloseTo(0.2, 9)
      yield* Effect.sleep(80)
      expect((yield* store.reserve(lines, 0.8, 50)).ok).toBe(true)
    }).pipe(Effect.provide(BudgetStore.layerRedis(Redacted.make(process.env.REDIS_URL!), `test:${uniquePrefix()}:`))))
})
