/**
 * ConversationStorage in a SQLite file: the embedded default (`conversations.store: sqlite`).
 * Runs on `node:sqlite` (built into Node 24) behind effect's `SqlClient`, in WAL mode with a
 * busy timeout; migrations run when the layer starts.
 *
 * One process should own a file for serving; other processes (a CLI, a second server) may
 * share it, their writes queue on SQLite's lock. For several gateway instances use Postgres.
 *
 * ```ts
 * Effect.provide(program, SqliteConversationStorage.layer({ path: ".data/conversations.db", ttlSeconds: 86400 }))
 * ```
 */
import type { ConversationStorage, ConversationStorageOptions } from "@llm-gateway/core/conversations/ConversationStorage"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { Layer } from "effect"
import * as NodeSqliteClient from "./internal/NodeSqliteClient.ts"
import { layerOn } from "./internal/SqlConversationStore.ts"

export const DefaultPath = ".data/conversations.db"

export interface SqliteConversationStorageOptions extends ConversationStorageOptions {
  /** The database file (its folder is created); `.data/conversations.db` by default. */
  readonly path?: string | undefined
  /** Prepended to every table name; `llm_gateway_` by default. */
  readonly tablePrefix?: string | undefined
  /** How long a write waits for another process's lock; 5000 ms by default. */
  readonly busyTimeoutMs?: number | undefined
}

export const layer = (
  options: SqliteConversationStorageOptions = {}
): Layer.Layer<ConversationStorage, ConfigurationError> =>
  layerOn(
    NodeSqliteClient.make({ filename: options.path ?? DefaultPath, busyTimeoutMs: options.busyTimeoutMs }),
    options,
    { store: "sqlite", path: "conversations.path" }
  )
