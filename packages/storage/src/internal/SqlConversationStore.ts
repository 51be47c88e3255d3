/**
 * The ConversationStorage implementation shared by the SQLite and Postgres stores: the same
 * SQL on effect's `SqlClient`, with dialect switches only where the databases differ.
 *
 * Ordering under concurrency: an append runs in one transaction that takes the conversation
 * row's write lock first (Postgres `SELECT … FOR UPDATE`; SQLite `BEGIN IMMEDIATE`, the
 * database-wide write lock), reads `message_count`, inserts the batch at the following
 * sequence numbers and bumps the count. Appends to one conversation therefore queue, and
 * each batch lands contiguously.
 *
 * Failures: the port's typed errors stay typed; any `SqlError` becomes a defect here (see
 * ConversationStorage.ts), after retrying the errors a database reports for transactions it
 * rolled back on its own (deadlock, serialization) — a retry cannot duplicate those.
 */
import { Array as Arr, Clock, Effect, Layer, Schedule, type Scope } from "effect"
import {
  type AppendResult,
  type Conversation,
  ConversationAlreadyExists,
  type ConversationMetadata,
  ConversationNotFound,
  ConversationStorage,
  type ConversationStorageOptions,
  type ConversationSummary,
  type CreateConversation,
  decodeCursor,
  encodeCursor,
  forkPurgeLoop,
  type ListOptions,
  listLimit,
  type ScopeOption,
  toMessageArray,
  ttlMillis
} from "@llm-gateway/core/conversations/ConversationStorage"
import { type ChatMessage, messageText, type Role } from "@llm-gateway/core/domain/Domain"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { Reactivity } from "effect/reactivity"
import { SqlClient, SqlError } from "effect/sql"
import { migrate, type Tables, tables } from "./migrations.ts"

interface ConversationRow {
  readonly id: string
  readonly scope: string | null
  readonly created_at: number | bigint
  readonly updated_at: number | bigint
  readonly metadata: string | null
  readonly message_count: number | bigint
}

interface ConversationWithMessageRow extends ConversationRow {
  readonly role: Role | null
  readonly content: string | null
  readonly parts: string | null
}

/** Rows per INSERT: far below both databases' bound-parameter limits (5 per message). */
const InsertChunk = 500

/**
 * A stored row as a message: its parts when it has them (JSON, migration 2), else its text. A
 * `tool` row without parts (none was stored before migration 2) has no tool form: it reads as
 * the user's text, as it always did.
 */
const storedMessage = (role: Role, content: string, parts: string | null): ChatMessage => {
  if (parts !== null) return { role, content: JSON.parse(parts) } as ChatMessage
  return role === "tool" ? { role: "user", content } : { role, content }
}

/** The `parts` column of a message: NULL for plain text (the row reads back as before). */
const partsOf = (m: ChatMessage): string | null => typeof m.content === "string" ? null : JSON.stringify(m.content)

const isTransient = (e: unknown) =>
  SqlError.isSqlError(e) && (e.reason._tag === "DeadlockError" || e.reason._tag === "SerializationError")

/** Retries what the database rolled back itself, then turns the remaining SqlErrors into defects. */
const atEdge = <A, E, R>(effect: Effect.Effect<A, E | SqlError.SqlError, R>): Effect.Effect<A, Exclude<E, SqlError.SqlError>, R> =>
  effect.pipe(
    Effect.retry({ while: isTransient, schedule: Schedule.exponential("10 millis"), times: 5 }),
    Effect.catchIf(SqlError.isSqlError, (e) => Effect.die(e))
  ) as Effect.Effect<A, Exclude<E, SqlError.SqlError>, R>

const summary = (row: ConversationRow): ConversationSummary => ({
  id: row.id,
  ...(row.scope !== null ? { scope: row.scope } : {}),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  ...(row.metadata !== null ? { metadata: JSON.parse(row.metadata) as ConversationMetadata } : {}),
  messageCount: Number(row.message_count)
})

const conversation = (row: ConversationRow, messages: ReadonlyArray<ChatMessage>): Conversation => {
  const { messageCount: _, ...rest } = summary(row)
  return { ...rest, messages }
}

export const make = Effect.fnUntraced(function*(t: Tables, options: ConversationStorageOptions) {
  const sql = yield* SqlClient.SqlClient
  const ttl = ttlMillis(options)
  const conversations = sql(t.conversations)
  const messagesTable = sql(t.messages)

  /** Rows updated after this instant are alive. */
  const aliveAfter = (now: number) => ttl === undefined ? Number.MIN_SAFE_INTEGER : now - ttl
  const inScope = (scope: string | undefined) => scope === undefined ? sql.literal("1 = 1") : sql`scope = ${scope}`
  const lockRow = sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })

  // PostgreSQL text cannot hold U+0000 and would reject the whole append; store the
  // replacement character instead, as UTF-8 encoding already does for lone surrogates.
  const storable = sql.onDialectOrElse({
    pg: () => (text: string) => text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text,
    orElse: () => (text: string) => text
  })

  const insertMessages = (id: string, first: number, batch: ReadonlyArray<ChatMessage>, now: number) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(batch.length / InsertChunk) }, (_, c) => c * InsertChunk),
      // Annotated: against core's emitted .d.ts (the package build) TypeScript infers the
      // statement's type alone and rejects the `Effect.void` branch.
      (start): Effect.Effect<unknown, SqlError.SqlError> => {
        const rows = batch.slice(start, start + InsertChunk).map((m, i): Record<string, unknown> => ({
          conversation_id: id,
          seq: first + start + i,
          role: m.role,
          // the text for text-only readers; the parts, when there are any, for the round trip
          // (JSON escapes U+0000, so Postgres takes them as they are)
          content: storable(messageText(m)),
          parts: partsOf(m),
          created_at: now
        }))
        return Arr.isReadonlyArrayNonEmpty(rows) ? sql`INSERT INTO ${messagesTable} ${sql.insert(rows)}` : Effect.void
      },
      { discard: true }
    )

  const create = Effect.fn("ConversationStorage.create")(function*(input: CreateConversation = {}) {
    const now = yield* Clock.currentTimeMillis
    const id = input.id ?? crypto.randomUUID()
    const initial = input.messages ?? []
    return yield* atEdge(sql.withTransaction(Effect.gen(function*() {
      // An expired conversation's id is free again: drop its leftovers first.
      if (ttl !== undefined) yield* sql`DELETE FROM ${conversations} WHERE id = ${id} AND updated_at <= ${aliveAfter(now)}`
      const inserted = yield* sql`INSERT INTO ${conversations} ${
        sql.insert({
          id,
          scope: input.scope ?? null,
          created_at: now,
          updated_at: now,
          metadata: input.metadata !== undefined ? JSON.stringify(input.metadata) : null,
          message_count: initial.length
        })
      } ON CONFLICT (id) DO NOTHING RETURNING id`
      if (inserted.length === 0) return yield* new ConversationAlreadyExists({ id })
      if (initial.length > 0) yield* insertMessages(id, 0, initial, now)
      return {
        id,
        ...(input.scope !== undefined ? { scope: input.scope } : {}),
        createdAt: now,
        updatedAt: now,
        ...(input.metadata !== undefined ? { metadata: { ...input.metadata } } : {}),
        messages: initial.map((m) => storedMessage(m.role, storable(messageText(m)), partsOf(m)))
      } satisfies Conversation
    })))
  })

  const append = Effect.fn("ConversationStorage.append")(
    function*(id: string, messages: ChatMessage | ReadonlyArray<ChatMessage>, opts: ScopeOption = {}) {
      const now = yield* Clock.currentTimeMillis
      const batch = toMessageArray(messages)
      return yield* atEdge(sql.withTransaction(Effect.gen(function*() {
        const [row] = yield* sql<Pick<ConversationRow, "message_count" | "updated_at">>`
          SELECT message_count, updated_at FROM ${conversations}
          WHERE id = ${id} AND updated_at > ${aliveAfter(now)} AND ${inScope(opts.scope)} ${lockRow}`
        if (row === undefined) return yield* new ConversationNotFound({ id })
        const count = Number(row.message_count)
        const previous = Number(row.updated_at)
        if (batch.length === 0) return { id, messageCount: count, updatedAt: previous }
        // Another instance's clock may run slightly ahead: never move updatedAt backwards.
        const updatedAt = Math.max(previous, now)
        yield* insertMessages(id, count, batch, now)
        yield* sql`UPDATE ${conversations} SET message_count = ${count + batch.length}, updated_at = ${updatedAt}
          WHERE id = ${id}`
        return { id, messageCount: count + batch.length, updatedAt } satisfies AppendResult
      })))
    }
  )

  const get = Effect.fn("ConversationStorage.get")(function*(id: string, opts: ScopeOption = {}) {
    const now = yield* Clock.currentTimeMillis
    // One statement, so the conversation and its messages come from one snapshot.
    const rows = yield* atEdge(sql<ConversationWithMessageRow>`
      SELECT c.id, c.scope, c.created_at, c.updated_at, c.metadata, c.message_count, m.role, m.content, m.parts
      FROM ${conversations} c LEFT JOIN ${messagesTable} m ON m.conversation_id = c.id
      WHERE c.id = ${id} AND c.updated_at > ${aliveAfter(now)} AND ${inScope(opts.scope)}
      ORDER BY m.seq`)
    if (rows.length === 0) return yield* new ConversationNotFound({ id })
    const messages = rows.flatMap((r) => r.role !== null && r.content !== null ? [storedMessage(r.role, r.content, r.parts)] : [])
    return conversation(rows[0], messages)
  })

  const list = Effect.fn("ConversationStorage.list")(function*(opts: ListOptions = {}) {
    const now = yield* Clock.currentTimeMillis
    const limit = listLimit(opts.limit)
    const after = opts.cursor !== undefined ? yield* decodeCursor(opts.cursor) : undefined
    const position = after === undefined
      ? sql.literal("1 = 1")
      : sql`(updated_at < ${after.updatedAt} OR (updated_at = ${after.updatedAt} AND id < ${after.id}))`
    const rows = yield* atEdge(sql<ConversationRow>`
      SELECT id, scope, created_at, updated_at, metadata, message_count FROM ${conversations}
      WHERE updated_at > ${aliveAfter(now)} AND ${inScope(opts.scope)} AND ${position}
      ORDER BY updated_at DESC, id DESC
      LIMIT ${limit + 1}`)
    const items = rows.slice(0, limit).map(summary)
    const last = items[items.length - 1]
    return rows.length > limit && last !== undefined
      ? { items, nextCursor: encodeCursor({ updatedAt: last.updatedAt, id: last.id }) }
      : { items }
  })

  const del = Effect.fn("ConversationStorage.delete")(function*(id: string, opts: ScopeOption = {}) {
    const now = yield* Clock.currentTimeMillis
    const deleted = yield* atEdge(sql`
      DELETE FROM ${conversations}
      WHERE id = ${id} AND updated_at > ${aliveAfter(now)} AND ${inScope(opts.scope)}
      RETURNING id`)
    if (deleted.length === 0) return yield* new ConversationNotFound({ id })
  })

  const purgeExpired = Effect.gen(function*() {
    if (ttl === undefined) return 0
    const now = yield* Clock.currentTimeMillis
    const purged = yield* atEdge(sql`DELETE FROM ${conversations} WHERE updated_at <= ${aliveAfter(now)} RETURNING id`)
    return purged.length
  }).pipe(Effect.withSpan("ConversationStorage.purgeExpired"))

  yield* forkPurgeLoop(options, purgeExpired)

  return ConversationStorage.of({ create, append, get, list, delete: del, purgeExpired })
})

export const DefaultTablePrefix = "llm_gateway_"

/**
 * The store's layer on a client that `acquire` opens for the layer's lifetime: migrates, then
 * serves. A database that cannot be opened or migrated fails the layer with a
 * ConfigurationError naming `where` (the config path), never the connection secret.
 */
export const layerOn = <E extends { readonly message: string }>(
  acquire: Effect.Effect<SqlClient.SqlClient, E, Scope.Scope | Reactivity.Reactivity>,
  options: ConversationStorageOptions & { readonly tablePrefix?: string | undefined },
  where: { readonly store: string; readonly path: string }
): Layer.Layer<ConversationStorage, ConfigurationError> =>
  Layer.effect(
    ConversationStorage,
    Effect.gen(function*() {
      const t = yield* Effect.try({
        try: () => tables(options.tablePrefix ?? DefaultTablePrefix),
        catch: (e) => new ConfigurationError({ message: (e as Error).message, path: "conversations.tablePrefix" })
      })
      const client = yield* acquire.pipe(
        Effect.mapError((e) => unavailable(where, e))
      )
      return yield* Effect.andThen(
        migrate(t).pipe(Effect.mapError((e) => unavailable(where, e))),
        make(t, options)
      ).pipe(Effect.provideService(SqlClient.SqlClient, client))
    })
  ).pipe(Layer.provide(Reactivity.layer))

const unavailable = (where: { readonly store: string; readonly path: string }, e: { readonly message: string }) => {
  // The driver's own cause says why (ECONNREFUSED, auth failed, read-only file); drivers
  // never put the password in it, and the URL itself is never part of the message.
  const cause = SqlError.isSqlError(e) && e.reason.cause instanceof Error ? ` (${e.reason.cause.message})` : ""
  return new ConfigurationError({
    message: `${where.store} conversation store unavailable: ${e.message}${cause}`,
    path: where.path
  })
}
