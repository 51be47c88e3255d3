/**
 * The gateway's two stores for the outbox tests: a fresh SQLite file, or Postgres (the run's
 * `DATABASE_URL`) with a fresh schema of its own, so the fixed `alert_outbox` table of one test
 * never sees another run's rows. Both are dropped when the scope closes.
 */
import { type Feature, type GatewayDatabaseOptions, make as makeDatabase } from "@llm-gateway/storage/GatewayDatabase"
import { Effect, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"

export const databaseUrl = (): string => process.env.DATABASE_URL ?? inject("databaseUrl")!

const uniqueName = () => `ops_t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

/** A connection URL whose tables all live in `schema` (Postgres startup option `search_path`). */
export const urlInSchema = (schema: string): string => {
  const url = new URL(databaseUrl())
  url.searchParams.set("options", `-c search_path=${schema}`)
  return url.toString()
}

export interface TestStore {
  /** What every instance of the test passes to `GatewayDatabase.layer`. */
  readonly options: GatewayDatabaseOptions
  /** The same, as the YAML config's `database:` section. */
  readonly config: { readonly path: string } | { readonly url: string }
}

const sqlite: Effect.Effect<TestStore, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "ops-outbox-"))
    const path = join(dir, "gateway.db")
    return { dir, store: { options: { path }, config: { path } } }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map(({ store }) => store))

/** The schema is created by a throw-away feature's migration; dropped with everything in it. */
const postgres: Effect.Effect<TestStore, never, Scope.Scope> = Effect.gen(function*() {
  const schema = uniqueName()
  const admin: Feature = {
    name: schema,
    migrations: { "1_create_schema": Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`CREATE SCHEMA ${sql(schema)}`)) }
  }
  const db = yield* makeDatabase({ url: Redacted.make(databaseUrl()), maxConnections: 1 })
  const sql = yield* Effect.orDie(db.open(admin))
  yield* Effect.addFinalizer(() =>
    Effect.ignore(sql`DROP SCHEMA ${sql(schema)} CASCADE`.pipe(Effect.andThen(sql`DROP TABLE ${sql(`gateway_migrations_${schema}`)}`)))
  )
  const url = urlInSchema(schema)
  return { options: { url: Redacted.make(url) }, config: { url } }
})

export const stores: ReadonlyArray<readonly [string, Effect.Effect<TestStore, never, Scope.Scope>]> = [
  ["SQLite", sqlite],
  ["Postgres", postgres]
]
