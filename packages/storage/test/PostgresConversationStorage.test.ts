import { describe, expect, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { ConversationStorage } from "@llm-gateway/core/conversations/ConversationStorage"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { conversationStorageContract, toolRoundTrip } from "../../core/test/ConversationStorageContract.ts"
import * as PostgresConversationStorage from "../src/PostgresConversationStorage.ts"
import { databaseUrl, expectContiguousTurns, pgTables, postgresStore, rollsBackAFailedBatch, uniquePrefix } from "./support.ts"

conversationStorageContract("postgres", postgresStore)

/** A gateway instance's store: its own pool on the shared tables. */
const instance = (tablePrefix: string) =>
  PostgresConversationStorage.layer({ url: databaseUrl(), tablePrefix, maxConnections: 5 })

const useStore = <A, E, LE>(layer: Layer.Layer<ConversationStorage, LE>, f: (s: ConversationStorage["Service"]) => Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.service(ConversationStorage), f).pipe(Effect.provide(layer))

describe("PostgresConversationStorage", () => {
  it.live("two instances starting together migrate once and share every conversation", () =>
    Effect.gen(function*() {
      const prefix = uniquePrefix()
      // Both start at once on fresh tables: one migrates, the other waits on its lock.
      const both = Layer.mergeAll(
        Layer.effect(First, Effect.service(ConversationStorage)).pipe(Layer.provide(instance(prefix))),
        Layer.effect(Second, Effect.service(ConversationStorage)).pipe(Layer.provide(instance(prefix)))
      )
      yield* Effect.gen(function*() {
        const a = yield* First
        const b = yield* Second
        yield* a.create({ id: "shared", scope: "tenant" })
        const n = 50
        yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) =>
            (i % 2 === 0 ? a : b).append("shared", [
              { role: "user", content: `${i % 2 === 0 ? "a" : "b"}-q${i}` },
              { role: "assistant", content: `${i % 2 === 0 ? "a" : "b"}-a${i}` }
            ]),
          { concurrency: "unbounded" }
        )
        const fromA = yield* a.get("shared")
        const fromB = yield* b.get("shared", { scope: "tenant" })
        expect(fromB).toEqual(fromA)
        expect(fromA.messages).toHaveLength(2 * n)
        expect(expectContiguousTurns(fromA.messages)).toBe(n)
        yield* b.delete("shared")
        expect((yield* Effect.flip(a.get("shared")))._tag).toBe("ConversationNotFound")
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT migration_id FROM ${sql(`${prefix}migrations`)}`).toEqual([{ migration_id: 1 }, { migration_id: 2 }])
      }).pipe(Effect.provide(Layer.mergeAll(both, pgTables(prefix), PgClient.layer({ url: databaseUrl(), maxConnections: 1 }))))
    }), 30_000)

  it.live("a tool round trip survives a restart; rows from before the parts migration read back as text", () =>
    Effect.suspend(() => {
      const prefix = uniquePrefix()
      return Effect.gen(function*() {
        yield* useStore(instance(prefix), (s) => s.create({ id: "tools", messages: toolRoundTrip }))
        expect((yield* useStore(instance(prefix), (s) => s.get("tools"))).messages).toEqual(toolRoundTrip)
        // tables as migration 1 left them: no parts column, text rows only
        const sql = yield* SqlClient.SqlClient
        yield* sql`DELETE FROM ${sql(`${prefix}migrations`)} WHERE migration_id = 2`
        yield* sql`ALTER TABLE ${sql(`${prefix}messages`)} DROP COLUMN parts`
        yield* sql`INSERT INTO ${sql(`${prefix}conversations`)} (id, created_at, updated_at, message_count) VALUES ('old', 1, 9000000000000000, 1)`
        yield* sql`INSERT INTO ${sql(`${prefix}messages`)} (conversation_id, seq, role, content, created_at) VALUES ('old', 0, 'user', 'hello from before', 1)`
        const old = yield* useStore(instance(prefix), (s) => s.get("old"))
        expect(old.messages).toEqual([{ role: "user", content: "hello from before" }])
        // the migration ran again on them, and parts are stored from then on
        yield* useStore(instance(prefix), (s) => s.append("old", toolRoundTrip.slice(2, 4)))
        expect((yield* useStore(instance(prefix), (s) => s.get("old"))).messages.slice(1)).toEqual(toolRoundTrip.slice(2, 4))
        expect(yield* sql`SELECT migration_id FROM ${sql(`${prefix}migrations`)} ORDER BY migration_id`).toEqual([{ migration_id: 1 }, { migration_id: 2 }])
      }).pipe(Effect.provide(Layer.merge(pgTables(prefix), PgClient.layer({ url: databaseUrl(), maxConnections: 1 }))))
    }), 30_000)

  it.live("rolls back a failed batch as a whole", () =>
    rollsBackAFailedBatch.pipe(Effect.provide(postgresStore({}))), 30_000)

  it.live("stores U+0000, which PostgreSQL text cannot hold, as U+FFFD instead of failing", () =>
    useStore(postgresStore({}), (storage) =>
      Effect.gen(function*() {
        const created = yield* storage.create({ id: "nul", messages: [{ role: "user", content: "a\u0000b" }] })
        yield* storage.append("nul", { role: "assistant", content: "\u0000" })
        expect(created.messages[0].content).toBe("a\uFFFDb")
        expect((yield* storage.get("nul")).messages.map((m) => m.content)).toEqual(["a\uFFFDb", "\uFFFD"])
      })), 30_000)

  it.live("fails to start with a ConfigurationError that does not reveal the password", () =>
    Effect.gen(function*() {
      const url = Redacted.make("postgres://gateway:s3cret-pw@127.0.0.1:1/nowhere")
      const error = yield* Effect.flip(useStore(PostgresConversationStorage.layer({ url }), () => Effect.void))
      expect([error._tag, error.path]).toEqual(["ConfigurationError", "conversations.url"])
      expect(error.message).toMatch(/^postgres conversation store unavailable/)
      expect(JSON.stringify(error)).not.toContain("s3cret-pw")
      expect(String(error)).not.toContain("s3cret-pw")
    }), 30_000)
})

class First extends Context.Service<First, ConversationStorage["Service"]>()("test/First") {}
class Second extends Context.Service<Second, ConversationStorage["Service"]>()("test/Second") {}
