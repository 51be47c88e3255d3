/**
 * Budget counters seeded from the usage ledger (`ledgerSeed`), on the real stores: a new instance's
 * memory (a restart), a Redis whose counters were flushed, a Postgres row made mid-period. Without
 * the seed each of these started from 0 and handed the period's spend back to the key.
 */
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { afterAll } from "vitest"
import { type BudgetLine, type BudgetSeed, makeMemory, makeRedis } from "../src/BudgetStore.ts"
import { GatewayDatabase } from "../src/GatewayDatabase.ts"
import { makePostgres } from "../src/internal/pgBudgets.ts"
import { makeResilientRedis } from "../src/internal/redisClient.ts"
import { ledgerSeed, UsageLedger } from "../src/UsageLedger.ts"
import { ledgerRow } from "./fixtures/ledgerRow.ts"
import { databaseUrl, tempDir, uniquePrefix } from "./support.ts"

const tmp = tempDir("budget-seed")
afterAll(tmp.cleanup)
let n = 0
const sqliteLedger = () =>
  UsageLedger.layer({ flushMs: 60_000 }).pipe(Layer.provideMerge(GatewayDatabase.layer({ path: join(tmp.dir, `gateway-${++n}.db`) })))
const pgLedger = () => UsageLedger.layer({ flushMs: 60_000 }).pipe(Layer.provideMerge(GatewayDatabase.layer({ url: databaseUrl() })))

const now = Date.now()
const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1)
const monthEnd = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() + 1, 1)
/** A monthly line of `owner`, as the server's governance makes one. */
const monthLine = (kind: "key" | "team", id: string, limitUsd: number): BudgetLine => ({
  id: `${kind}:${id}:month:${new Date(now).toISOString().slice(0, 7)}`,
  limitUsd,
  periodStartsAt: monthStart,
  periodEndsAt: monthEnd,
  owner: { kind, id }
})

/** The key's and the team's spend this month (0.7 and 0.2 USD), beside rows a seed must not count. */
const recordHistory = (ledger: UsageLedger["Service"], key: string, team: string) => {
  ledger.record(ledgerRow({ at: now - 1000, keyId: key, team: null, costUsd: 0.4 }))
  ledger.record(ledgerRow({ at: monthStart, keyId: key, team: null, costUsd: 0.3 }))
  ledger.record(ledgerRow({ at: monthStart - 1, keyId: key, team: null, costUsd: 5 })) // last month
  ledger.record(ledgerRow({ at: now - 1000, keyId: `other-${key}`, team: null, costUsd: 3 })) // another key
  ledger.record(ledgerRow({ at: now - 1000, keyId: `member-${key}`, team, costUsd: 0.2 }))
}

describe("budget counters seeded from the usage ledger", () => {
  it.live("memory (a restarted instance): the key's and the team's lines start from this period's spend", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const key = uniquePrefix()
      const team = uniquePrefix()
      recordHistory(ledger, key, team)
      // the rows are still buffered: the seed counts them all the same
      const store = yield* makeMemory(ledgerSeed(ledger))
      const refused = yield* store.reserve([monthLine("key", key, 1)], 0.5, 60_000)
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.remainingUsd).toBeCloseTo(0.3, 9)
      expect((yield* store.reserve([monthLine("key", key, 1)], 0.3, 60_000)).ok).toBe(true)
      const teamRefused = yield* store.reserve([monthLine("team", team, 0.25)], 0.1, 60_000)
      expect(teamRefused.ok).toBe(false)
      if (!teamRefused.ok) expect(teamRefused.remainingUsd).toBeCloseTo(0.05, 9)
      // without a seed (as before) the same reservation was admitted on a fresh counter
      expect((yield* (yield* makeMemory()).reserve([monthLine("key", key, 1)], 0.5, 60_000)).ok).toBe(true)
    }).pipe(Effect.provide(sqliteLedger())))

  it.live("a seed that cannot be read refuses the reservation (fail closed); the next one seeds", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const key = uniquePrefix()
      recordHistory(ledger, key, uniquePrefix())
      let failures = 1
      const seed = ledgerSeed(ledger)
      const flaky: BudgetSeed = (line) => (failures-- > 0 ? Effect.fail(new Error("ledger unreachable")) : seed(line))
      const store = yield* makeMemory(flaky)
      const line = monthLine("key", key, 1)
      expect(yield* store.reserve([line], 0.1, 60_000)).toEqual({ ok: false, line, remainingUsd: 0 })
      const next = yield* store.reserve([line], 0.5, 60_000)
      expect(next.ok).toBe(false)
      if (!next.ok) expect(next.remainingUsd).toBeCloseTo(0.3, 9)
    }).pipe(Effect.provide(sqliteLedger())))

  it.live("Redis: a flushed counter is seeded again, keeping the larger of its settles and the ledger", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const { redis } = yield* makeResilientRedis({ url: Redacted.make(process.env.REDIS_URL!) })
      const prefix = `test:${uniquePrefix()}:`
      const store = yield* makeRedis(redis, prefix, ledgerSeed(ledger))
      const key = uniquePrefix()
      recordHistory(ledger, key, uniquePrefix())
      const line = monthLine("key", key, 1)
      const first = yield* store.reserve([line], 0.2, 60_000)
      expect(first.ok).toBe(true)
      if (first.ok) yield* store.settle(first.id, [line], 0.2)
      // what the server records for that call
      ledger.record(ledgerRow({ at: Date.now(), keyId: key, costUsd: 0.2 }))
      expect(yield* store.spent(line)).toBeCloseTo(0.9, 9)
      // the counters are lost (FLUSHALL, a new Redis): the next reserve reads the ledger again
      yield* redis.send("DEL", `${prefix}${line.id}`, `${prefix}${line.id}:r`, `${prefix}${line.id}:a`)
      const after = yield* store.reserve([line], 0.2, 60_000)
      expect(after.ok).toBe(false)
      if (!after.ok) expect(after.remainingUsd).toBeCloseTo(0.1, 9)
      expect(yield* store.spent(line)).toBeCloseTo(0.9, 9)
    }).pipe(Effect.provide(sqliteLedger())))

  it.live("Postgres: a budget row made mid-period starts from the period's spend", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const db = yield* GatewayDatabase
      const key = uniquePrefix()
      recordHistory(ledger, key, uniquePrefix())
      const store = makePostgres(db, ledgerSeed(ledger))
      const line = monthLine("key", key, 1)
      const refused = yield* store.reserve([line], 0.5, 60_000)
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.remainingUsd).toBeCloseTo(0.3, 9)
      // (a refusal rolls back the row it made: the next reserve seeds it again)
      expect((yield* store.reserve([line], 0.2, 60_000)).ok).toBe(true)
      expect(yield* store.spent(line)).toBeCloseTo(0.7, 9)
      // another instance meeting the row does not seed it again: settles keep it from here
      ledger.record(ledgerRow({ at: Date.now(), keyId: key, costUsd: 0.05 }))
      const other = makePostgres(db, ledgerSeed(ledger))
      expect((yield* other.reserve([line], 0.1, 60_000)).ok).toBe(true)
      expect(yield* other.spent(line)).toBeCloseTo(0.7, 9)
    }).pipe(Effect.provide(pgLedger())), 30_000)
})
