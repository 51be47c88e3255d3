/**
 * Store factories for the shared contract suite: a fresh SQLite file, or a fresh set of
 * Postgres tables (unique prefix, dropped afterwards) in the run's DATABASE_URL database.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { PgClient } from "@effect/sql-pg"
import { ConversationStorage, type ConversationStorageOptions } from "@llm-gateway/core/conversations/ConversationStorage"
import { type ChatMessage, messageText } from "@llm-gateway/core/domain/Domain"
import { expect } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { StoreProbe } from "../../core/test/ConversationStorageContract.ts"
import * as PostgresConversationStorage from "../src/PostgresConversationStorage.ts"
import * as SqliteConversationStorage from "../src/SqliteConversationStorage.ts"

export const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `llmgw-${name}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

let files = 0
export const sqliteStore = (dir: string) => (options: ConversationStorageOptions & { readonly path?: string }) => {
  const path = options.path ?? join(dir, `conversations-${++files}.db`)
  const probe = Layer.succeed(StoreProbe, StoreProbe.of({
    storedConversations: Effect.sync(() => {
      // A second connection sees what the store has committed (WAL readers do not block).
      const db = new DatabaseSync(path, { readOnly: true })
      try {
        return Number((db.prepare("SELECT count(*) AS n FROM llm_gateway_conversations").get() as { n: number }).n)
      } finally {
        db.close()
      }
    })
  }))
  return Layer.merge(SqliteConversationStorage.layer({ ...options, path }), probe)
}

export const databaseUrl = () => {
  const url = process.env.DATABASE_URL
  if (url === undefined) throw new Error("DATABASE_URL is not set: the vitest global setup should have set it")
  return Redacted.make(url)
}

export const uniquePrefix = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}_`

/** Probe and cleanup for one prefix, on a separate small pool. */
export const pgTables = (prefix: string) =>
  Layer.effect(
    StoreProbe,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* Effect.addFinalizer(() =>
        sql`DROP TABLE IF EXISTS ${sql(`${prefix}messages`)}, ${sql(`${prefix}conversations`)}, ${
          sql(`${prefix}migrations`)
        }`.pipe(Effect.orDie)
      )
      return StoreProbe.of({
        storedConversations: sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${prefix}conversations`)}`.pipe(
          Effect.map((rows) => rows[0].n),
          Effect.orDie
        )
      })
    })
  ).pipe(Layer.provide(PgClient.layer({ url: databaseUrl(), maxConnections: 2 })))

export const postgresStore = (options: ConversationStorageOptions & { readonly tablePrefix?: string }) => {
  const tablePrefix = options.tablePrefix ?? uniquePrefix()
  return Layer.merge(
    PostgresConversationStorage.layer({ ...options, url: databaseUrl(), tablePrefix }),
    pgTables(tablePrefix)
  )
}

/** Messages of interleaved batches `[<label>q<i>, <label>a<i>]`: each batch must be contiguous. */
export const expectContiguousTurns = (messages: ReadonlyArray<ChatMessage>) => {
  const seen = new Set<string>()
  for (let k = 0; k < messages.length; k += 2) {
    const q = messageText(messages[k])
    const match = /^(.*)q(\d+)$/.exec(q)
    if (match === null || messages[k].role !== "user") throw new Error(`message ${k} is not a question: ${q}`)
    const a = messages[k + 1]
    if (a?.role !== "assistant" || a.content !== `${match[1]}a${match[2]}`) {
      throw new Error(`message ${k + 1} does not answer ${q}: ${a?.content}`)
    }
    if (seen.has(q)) throw new Error(`duplicate ${q}`)
    seen.add(q)
  }
  return seen.size
}

/**
 * A batch larger than one INSERT whose last message violates NOT NULL: the rows already
 * inserted by the first statement must roll back with it, and the next append continue
 * the sequence as if the failed one never happened.
 */
export const rollsBackAFailedBatch = Effect.gen(function*() {
  const storage = yield* ConversationStorage
  const user = (content: string) => ({ role: "user" as const, content })
  yield* storage.create({ id: "atomic", messages: [user("before")] })
  const batch = [...Array.from({ length: 500 }, (_, i) => user(`m${i}`)), user(null as unknown as string)]
  const exit = yield* Effect.exit(storage.append("atomic", batch))
  // A storage failure is a defect, not a typed error (see ConversationStorage.ts).
  expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
  expect((yield* storage.get("atomic")).messages).toEqual([user("before")])
  expect((yield* storage.append("atomic", user("after"))).messageCount).toBe(2)
  expect((yield* storage.get("atomic")).messages.map((m) => m.content)).toEqual(["before", "after"])
})
