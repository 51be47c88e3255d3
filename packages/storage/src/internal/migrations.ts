/**
 * Schema of the SQL conversation stores, as effect `Migrator` migrations (run on start, each
 * once, in a transaction; the migrations table records what ran). Append-only: a change is a
 * new numbered entry, never an edit of a shipped one.
 *
 * Tables (names carry the store's `tablePrefix`):
 * - `conversations`: one row per conversation; `message_count` is the next message sequence
 *   number, read and bumped under the row's write lock by every append;
 * - `messages`: `(conversation_id, seq)` primary key, so a lost race could only fail, never
 *   interleave or duplicate; deleted with their conversation (`ON DELETE CASCADE`).
 * Timestamps are epoch milliseconds from effect's `Clock` (so TestClock drives TTL), not
 * database time. Metadata is a JSON text, the same on both dialects.
 * Migration 2 adds `messages.parts`: a message made of parts (tool calls and results, files,
 * reasoning; notes/rich-messages.md) keeps them there as JSON, beside its text in `content`.
 * Rows from before it have `parts` NULL and read back as their text, as they always did.
 */
import { Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"

export interface Tables {
  readonly conversations: string
  readonly messages: string
  readonly migrations: string
  readonly prefix: string
}

export const tables = (prefix: string): Tables => {
  // Identifiers are quoted by the compiler; the pattern keeps names portable and unsurprising.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(prefix)) {
    throw new Error(`invalid conversation table prefix ${JSON.stringify(prefix)}: use letters, digits and _`)
  }
  return {
    prefix,
    conversations: `${prefix}conversations`,
    messages: `${prefix}messages`,
    migrations: `${prefix}migrations`
  }
}

const createTables = (t: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Postgres would sort text ids by the database's locale; "C" makes the list order (and
    // cursor comparisons) byte order, as SQLite and the memory store have it.
    const idType = sql.onDialectOrElse({ pg: () => sql.literal(`TEXT COLLATE "C"`), orElse: () => sql.literal("TEXT") })
    yield* sql`CREATE TABLE ${sql(t.conversations)} (
      id ${idType} PRIMARY KEY,
      scope TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      metadata TEXT,
      message_count INTEGER NOT NULL DEFAULT 0
    )`
    // Serves `list` (newest first), the TTL filter and the purge.
    yield* sql`CREATE INDEX ${sql(`${t.prefix}conversations_updated`)}
      ON ${sql(t.conversations)} (updated_at DESC, id DESC)`
    yield* sql`CREATE INDEX ${sql(`${t.prefix}conversations_scope_updated`)}
      ON ${sql(t.conversations)} (scope, updated_at DESC, id DESC)`
    yield* sql`CREATE TABLE ${sql(t.messages)} (
      conversation_id ${idType} NOT NULL REFERENCES ${sql(t.conversations)} (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      role TEXT NOT NULL,
      content TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      PRIMARY KEY (conversation_id, seq)
    )`
  })

const addMessageParts = (t: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(t.messages)} ADD COLUMN parts TEXT`
  })

/** Brings the schema up to date; concurrent starters wait for (or skip) the one migrating. */
export const migrate = (t: Tables) =>
  Migrator.make({})({
    table: t.migrations,
    loader: Migrator.fromRecord({
      "1_create_conversations": createTables(t),
      "2_message_parts": addMessageParts(t)
    })
  })
