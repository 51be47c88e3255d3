/**
 * The BudgetStore on Postgres (no Redis, `database.url` set): feature `budgets` of the
 * GatewayDatabase.
 *
 * One row per budget line (`gateway_budgets`: spent and reserved nano-USD) and one per hold
 * (`gateway_budget_holds`: reservation × line, amount, expiry). A reserve is one transaction
 * that, per line in id order (so two requests sharing a team line never deadlock):
 * 1. creates the row if missing (its `spent` seeded from the usage ledger: `BudgetSeed`);
 * 2. releases the line's expired holds (an instance that died never settles);
 * 3. locks the row (`SELECT spent, reserved … FOR UPDATE`), judges the room and, when the amount
 *    fits, raises `reserved` — the lock serialises every instance's reservations on that line, so
 *    the check, the increment and the room a refusal reports are one consistent step;
 * 4. records the hold.
 * A line without room rolls the whole transaction back: nothing is reserved anywhere.
 */
import { Cause, Clock, Data, Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { BudgetLine, BudgetSeed, BudgetStoreShape, Reservation } from "./budgetTypes.ts"
import type { Feature, GatewayDatabaseShape } from "../GatewayDatabase.ts"
import { unseededRefusal } from "./budgetRefusal.ts"
import { limitNano, NANO, reservationId, reserveNano, spendNano } from "./budgetUnits.ts"

export const BudgetsFeature: Feature = {
  name: "budgets",
  migrations: {
    "1_create_budgets": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE gateway_budgets (
        id TEXT PRIMARY KEY, spent BIGINT NOT NULL DEFAULT 0, reserved BIGINT NOT NULL DEFAULT 0,
        keep_until BIGINT
      )`
      yield* sql`CREATE TABLE gateway_budget_holds (
        reservation TEXT NOT NULL, budget TEXT NOT NULL, amount BIGINT NOT NULL, expires_at BIGINT NOT NULL,
        PRIMARY KEY (budget, reservation)
      )`
      yield* sql`CREATE INDEX gateway_budget_holds_expiry ON gateway_budget_holds (budget, expires_at)`
    })
  }
}

/** A line whose seed could not be read: refused, as an outage is. */
class Unseeded extends Data.TaggedError("Unseeded")<{ readonly line: BudgetLine; readonly reason: unknown }> {}

/** A line without room: carried out of the transaction so it rolls back. */
class NoRoom extends Data.TaggedError("NoRoom")<{ readonly line: BudgetLine; readonly roomNano: number }> {}

export const makePostgres = (db: GatewayDatabaseShape, seed?: BudgetSeed): BudgetStoreShape => {
  const open = db.open(BudgetsFeature)
  // lines whose row this process has made or seen: a row is seeded once, when it is made
  const known = new Set<string>()

  const reserve = (lines: ReadonlyArray<BudgetLine>, amountUsd: number, expiresInMs: number) =>
    Effect.gen(function*() {
      const id = reservationId()
      if (lines.length === 0) return { ok: true, id } as Reservation
      const sql = yield* open
      const now = yield* Clock.currentTimeMillis
      const amount = reserveNano(amountUsd)
      const ordered = [...lines].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      // what a row not yet made starts from (the ledger's sum); read before the transaction
      const seeds = new Map<string, number>()
      if (seed !== undefined) {
        for (const line of ordered) {
          if (known.has(line.id)) continue
          const exit = yield* Effect.exit(seed(line))
          if (exit._tag === "Failure") return yield* Effect.fail(new Unseeded({ line, reason: Cause.squash(exit.cause) }))
          seeds.set(line.id, spendNano(exit.value))
        }
      }
      const result = yield* sql.withTransaction(Effect.gen(function*() {
        for (const line of ordered) {
          // a day past its period, so late settles still land in it (as on Redis)
          const keep = line.periodEndsAt === undefined ? null : line.periodEndsAt + 86_400_000
          yield* sql`INSERT INTO gateway_budgets (id, keep_until, spent) VALUES (${line.id}, ${keep}, ${seeds.get(line.id) ?? 0})
            ON CONFLICT (id) DO NOTHING`
          yield* sql`WITH expired AS (
              DELETE FROM gateway_budget_holds WHERE budget = ${line.id} AND expires_at <= ${now} RETURNING amount
            )
            UPDATE gateway_budgets SET reserved = reserved - (SELECT COALESCE(SUM(amount), 0) FROM expired)
            WHERE id = ${line.id} AND EXISTS (SELECT 1 FROM expired)`
          const limit = limitNano(line.limitUsd)
          // The row locked, then judged: the room a refusal reports is the room it was refused
          // on. (A conditional UPDATE and a SELECT after it read two snapshots under READ
          // COMMITTED: a release committed in between made a refusal report room it did not see.)
          const [row] = yield* sql<{ spent: string; reserved: string }>`SELECT spent, reserved FROM gateway_budgets
            WHERE id = ${line.id} FOR UPDATE`
          const room = limit - Number(row?.spent ?? 0) - Number(row?.reserved ?? 0)
          if (amount > room) return yield* Effect.fail(new NoRoom({ line, roomNano: room }))
          yield* sql`UPDATE gateway_budgets SET reserved = reserved + ${amount} WHERE id = ${line.id}`
          yield* sql`INSERT INTO gateway_budget_holds (reservation, budget, amount, expires_at)
            VALUES (${id}, ${line.id}, ${amount}, ${now + expiresInMs})`
        }
        return { ok: true, id } as Reservation
      }))
      for (const line of ordered) known.add(line.id)
      return result
    }).pipe(
      Effect.catch((e): Effect.Effect<Reservation> =>
        e instanceof NoRoom
          ? Effect.succeed({ ok: false, line: e.line, remainingUsd: Math.max(0, e.roomNano) / NANO })
          : e instanceof Unseeded
          ? unseededRefusal(e.line, e.reason)
          // fail closed, as on Redis: a budget is a promise of "no more than"
          : Effect.as(Effect.logWarning(`budget store (Postgres) unavailable, refusing: ${String((e as { message?: unknown }).message ?? e)}`), {
            ok: false,
            line: lines[0],
            remainingUsd: 0
          }))
    )

  const settle = (reservation: string, lines: ReadonlyArray<BudgetLine>, actualUsd: number) =>
    lines.length === 0 ? Effect.void : Effect.gen(function*() {
      const sql = yield* open
      const actual = spendNano(actualUsd)
      const ordered = [...lines].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      yield* sql.withTransaction(Effect.forEach(ordered, (line) =>
        sql`WITH held AS (
            DELETE FROM gateway_budget_holds WHERE budget = ${line.id} AND reservation = ${reservation} RETURNING amount
          )
          UPDATE gateway_budgets SET reserved = reserved - (SELECT COALESCE(SUM(amount), 0) FROM held), spent = spent + ${actual}
          WHERE id = ${line.id}`, { discard: true }))
    }).pipe(
      // the request already happened; the ledger still has its cost
      Effect.catch((e) => Effect.logWarning(`budget settle lost (Postgres unavailable): ${String((e as { message?: unknown }).message ?? e)}`))
    )

  const spent = (line: BudgetLine) =>
    Effect.gen(function*() {
      const sql = yield* open
      const [row] = yield* sql<{ spent: string }>`SELECT spent FROM gateway_budgets WHERE id = ${line.id}`
      return Number(row?.spent ?? 0) / NANO
    }).pipe(Effect.orDie)

  return { kind: "postgres", reserve, settle, spent }
}
