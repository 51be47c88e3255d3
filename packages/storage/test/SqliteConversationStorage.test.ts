import { spawn } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { ConversationStorage } from "@llm-gateway/core/conversations/ConversationStorage"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { messageParts } from "@llm-gateway/core/domain/Messages"
import { conversationStorageContract, toolRoundTrip } from "../../core/test/ConversationStorageContract.ts"
import * as SqliteConversationStorage from "../src/SqliteConversationStorage.ts"
import { expectContiguousTurns, rollsBackAFailedBatch, sqliteStore, tempDir } from "./support.ts"

const tmp = tempDir("sqlite")
afterAll(tmp.cleanup)

conversationStorageContract("sqlite", sqliteStore(tmp.dir))

const inspect = <A>(path: string, query: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    return db.prepare(query).all() as Array<A>
  } finally {
    db.close()
  }
}

describe("SqliteConversationStorage", () => {
  it.effect("keeps conversations across restarts and migrates once, in WAL mode", () =>
    Effect.gen(function*() {
      const path = join(tmp.dir, "restart", "nested", "conversations.db")
      const layer = SqliteConversationStorage.layer({ path })
      yield* Effect.gen(function*() {
        const storage = yield* ConversationStorage
        yield* storage.create({ id: "kept", scope: "s", metadata: { a: "b" }, messages: [{ role: "system", content: "sys" }] })
        yield* storage.append("kept", { role: "user", content: "hi" })
      }).pipe(Effect.provide(layer))
      expect(existsSync(path)).toBe(true)
      const got = yield* Effect.flatMap(Effect.service(ConversationStorage), (s) => s.get("kept")).pipe(
        Effect.provide(layer)
      )
      expect(got.messages).toEqual([{ role: "system", content: "sys" }, { role: "user", content: "hi" }])
      expect(got.metadata).toEqual({ a: "b" })
      expect(inspect<{ migration_id: number }>(path, "SELECT migration_id FROM llm_gateway_migrations"))
        .toEqual([{ migration_id: 1 }, { migration_id: 2 }])
      expect(inspect<{ journal_mode: string }>(path, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }])
    }))

  it.effect("a tool round trip survives a restart; rows from before the parts migration read back as text", () =>
    Effect.gen(function*() {
      const path = join(tmp.dir, "parts.db")
      const layer = SqliteConversationStorage.layer({ path })
      const use = <A>(f: (s: ConversationStorage["Service"]) => Effect.Effect<A, unknown>) =>
        Effect.flatMap(Effect.service(ConversationStorage), f).pipe(Effect.provide(layer))
      yield* use((s) => s.create({ id: "tools", messages: toolRoundTrip }))
      expect((yield* use((s) => s.get("tools"))).messages).toEqual(toolRoundTrip)

      // a database as migration 1 left it: no parts column, text rows only
      const db = new DatabaseSync(path)
      db.exec(`DELETE FROM llm_gateway_migrations WHERE migration_id = 2;
        ALTER TABLE llm_gateway_messages DROP COLUMN parts;
        INSERT INTO llm_gateway_conversations (id, created_at, updated_at, message_count) VALUES ('old', 1, 9e15, 2);
        INSERT INTO llm_gateway_messages (conversation_id, seq, role, content, created_at)
          VALUES ('old', 0, 'user', 'hello from before', 1), ('old', 1, 'assistant', 'hi', 1);`)
      db.close()
      const old = yield* use((s) => s.get("old"))
      expect(old.messages).toEqual([{ role: "user", content: "hello from before" }, { role: "assistant", content: "hi" }])
      expect(messageParts(old.messages[0])).toEqual([{ type: "text", text: "hello from before" }])
      // the migration ran again on it, and parts are stored from then on
      yield* use((s) => s.append("old", toolRoundTrip.slice(2, 4)))
      expect((yield* use((s) => s.get("old"))).messages.slice(2)).toEqual(toolRoundTrip.slice(2, 4))
      expect(inspect<{ migration_id: number }>(path, "SELECT migration_id FROM llm_gateway_migrations").map((r) => r.migration_id)).toEqual([1, 2])
    }))

  it.effect("rolls back a failed batch as a whole", () =>
    rollsBackAFailedBatch.pipe(Effect.provide(SqliteConversationStorage.layer({ path: join(tmp.dir, "atomic.db") }))))

  it.effect("fails to start with a ConfigurationError when the file cannot be opened", () =>
    Effect.gen(function*() {
      const blocker = join(tmp.dir, "not-a-folder")
      writeFileSync(blocker, "")
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(ConversationStorage), SqliteConversationStorage.layer({ path: join(blocker, "c.db") }))
      )
      expect(error._tag).toBe("ConfigurationError")
      expect(error.path).toBe("conversations.path")
      expect(error.message).toMatch(/^sqlite conversation store unavailable/)
      const badPrefix = yield* Effect.flip(Effect.provide(
        Effect.service(ConversationStorage),
        SqliteConversationStorage.layer({ path: join(tmp.dir, "p.db"), tablePrefix: "x; DROP" })
      ))
      expect([badPrefix._tag, badPrefix.path]).toEqual(["ConfigurationError", "conversations.tablePrefix"])
    }))

  // Two processes on one file: the server and a CLI, say. BEGIN IMMEDIATE plus the busy
  // timeout must queue their writes without losing or interleaving any batch.
  it.live("keeps order when another process appends to the same file at the same time", () =>
    Effect.gen(function*() {
      const path = join(tmp.dir, "shared.db")
      const layer = SqliteConversationStorage.layer({ path })
      yield* Effect.provide(Effect.flatMap(Effect.service(ConversationStorage), (s) => s.create({ id: "shared" })), layer)
      const worker = fileURLToPath(new URL("./fixtures/appendWorker.ts", import.meta.url))
      const n = 25
      const child = spawn(process.execPath, [worker, path, "shared", String(n), "child-"], { stdio: ["ignore", "pipe", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (chunk) => stderr += chunk)
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
      yield* Effect.promise(() =>
        new Promise<void>((resolve, reject) => {
          child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve())
          child.on("exit", () => reject(new Error(`worker exited early: ${stderr}`)))
        })
      )
      const { messages } = yield* Effect.gen(function*() {
        const storage = yield* ConversationStorage
        yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) => storage.append("shared", [{ role: "user", content: `parent-q${i}` }, { role: "assistant", content: `parent-a${i}` }]),
          { concurrency: "unbounded" }
        )
        expect(yield* Effect.promise(() => exited)).toBe(0)
        return yield* storage.get("shared")
      }).pipe(Effect.provide(layer))
      expect(stderr).toBe("")
      expect(messages).toHaveLength(4 * n)
      expect(expectContiguousTurns(messages)).toBe(2 * n)
    }), 30_000)
})
