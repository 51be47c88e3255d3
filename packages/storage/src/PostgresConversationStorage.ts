/**
 * ConversationStorage in PostgreSQL (`conversations.store: postgres`): the store for several
 * gateway instances, which then share every conversation. Runs on `@effect/sql-pg`;
 * migrations run when the layer starts (concurrent starters wait on the migrations table lock).
 *
 * ```ts
 * Effect.provide(program, PostgresConversationStorage.layer({ url: Redacted.make(process.env.DATABASE_URL!) }))
 * ```
 */
import { PgClient } from "@effect/sql-pg"
import type { ConversationStorage, ConversationStorageOptions } from "@llm-gateway/core/conversations/ConversationStorage"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { Layer, Redacted } from "effect"
import { layerOn } from "./internal/SqlConversationStore.ts"

export interface PostgresConversationStorageOptions extends ConversationStorageOptions {
  /** `postgres://user:password@host:port/database`; kept Redacted, never logged. */
  readonly url: Redacted.Redacted<string>
  /** Prepended to every table name; `llm_gateway_` by default. */
  readonly tablePrefix?: string | undefined
  /** Pool size; 10 by default. */
  readonly maxConnections?: number | undefined
}

export const layer = (
  options: PostgresConversationStorageOptions
): Layer.Layer<ConversationStorage, ConfigurationError> =>
  layerOn(
    PgClient.make({
      url: options.url,
      maxConnections: options.maxConnections,
      applicationName: "llm-gateway",
      connectTimeout: "10 seconds"
    }),
    options,
    { store: "postgres", path: "conversations.url" }
  )
