import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll } from "vitest"
import { type Feature, GatewayDatabase } from "../src/GatewayDatabase.ts"
import { databaseUrl, tempDir, uniquePrefix } from "./support.ts"

const tmp = tempDir("gatewaydb")
afterAll(tmp.cleanup)
// a folder that cannot be created: its parent is a file
writeFileSync(join(tmp.dir, "a-file"), "")
const blocked = join(tmp.dir, "a-file", "gateway.db")

const feature = (name: string): Feature => ({
  name,
  migrations: {
    "1_create": Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql`CREATE TABLE ${sql(`${name}_items`)} (id TEXT PRIMARY KEY, n INTEGER NOT NULL)`.pipe(Effect.asVoid)),
    "2_add_note": Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql`ALTER TABLE ${sql(`${name}_items`)} ADD COLUMN note TEXT`.pipe(Effect.asVoid))
  }
})

const roundTrip = (db: GatewayDatabase["Service"], f: Feature) =>
  Effect.gen(function*() {
    const sql = yield* db.open(f)
    yield* sql`INSERT INTO ${sql(`${f.name}_items`)} (id, n, note) VALUES ('a', 1, 'x')`
    return yield* sql<{ n: number }>`SELECT n FROM ${sql(`${f.name}_items`)}`
  })

describe("GatewayDatabase", () => {
  it.effect("SQLite: nothing on disk until the first open; features migrate independently, once", () =>
    Effect.gen(function*() {
      const path = join(tmp.dir, "nested", "gateway.db")
      yield* Effect.gen(function*() {
        const db = yield* GatewayDatabase
        expect(db.dialect).toBe("sqlite")
        expect(Option.isNone(yield* db.openIfExists(feature("keys")))).toBe(true)
        expect(existsSync(path)).toBe(false)
        expect(yield* roundTrip(db, feature("keys"))).toEqual([{ n: 1 }])
        expect(yield* roundTrip(db, feature("outbox"))).toEqual([{ n: 1 }])
        expect(existsSync(path)).toBe(true)
      }).pipe(Effect.provide(GatewayDatabase.layer({ path })))
      // a second process (here: a second layer) finds the tables and WAL mode in place
      yield* Effect.gen(function*() {
        const db = yield* GatewayDatabase
        const sql = Option.getOrThrow(yield* db.openIfExists(feature("keys")))
        expect(yield* sql<{ n: number }>`SELECT n FROM keys_items`).toEqual([{ n: 1 }])
        const [mode] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
        expect(mode.journal_mode).toBe("wal")
        const ran = yield* sql<{ n: number }>`SELECT count(*) AS n FROM gateway_migrations_keys`
        expect(ran[0].n).toBe(2)
      }).pipe(Effect.provide(GatewayDatabase.layer({ path })))
    }))

  it.effect("an unwritable path is a GatewayDatabaseError, and nothing is remembered", () =>
    Effect.gen(function*() {
      const db = yield* GatewayDatabase
      const error = yield* Effect.flip(db.open(feature("keys")))
      expect(error._tag).toBe("GatewayDatabaseError")
      expect(error.message).toContain(blocked)
    }).pipe(Effect.provide(GatewayDatabase.layer({ path: blocked }))))

  it.effect("Postgres when a url is given", () =>
    Effect.gen(function*() {
      const db = yield* GatewayDatabase
      expect(db.dialect).toBe("pg")
      const f = feature(uniquePrefix().slice(0, -1))
      expect(yield* roundTrip(db, f)).toEqual([{ n: 1 }])
      const sql = yield* db.open(f)
      yield* sql`DROP TABLE ${sql(`${f.name}_items`)}, ${sql(`gateway_migrations_${f.name}`)}`
    }).pipe(Effect.provide(GatewayDatabase.layer({ url: databaseUrl() }))))
})
