/**
 * Where conversations live: the port, its errors, and the in-memory store.
 *
 * SQLite and Postgres stores implementing the same port are in `@llm-gateway/storage`.
 *
 * Contract every store keeps (tested by one shared suite against all three):
 * - `append` adds one or several messages atomically and contiguously, in the order given;
 *   concurrent appends to one conversation lose nothing;
 * - `get` returns the messages in append order;
 * - `list` pages newest first (by last update, then id), optionally within one scope;
 * - with `ttlSeconds`, a conversation expires `ttlSeconds` after its last update (create or
 *   append): it is never returned again, and a background sweep (or `purgeExpired`) deletes it;
 * - every timestamp comes from `Clock`, so `TestClock` drives TTL in tests;
 * - a `scope` option on get/append/delete/list makes conversations of other scopes invisible
 *   (reported as not found, so one tenant cannot even learn another's ids).
 *
 * Errors: only what a caller can act on is typed (`ConversationNotFound`,
 * `ConversationAlreadyExists`, a malformed list cursor as `InvalidRequest`). A broken
 * database is not something the caller can fix, so storage failures are defects at the
 * service edge (transient lock conflicts are retried inside the stores first).
 */
import { Clock, Context, Duration, Effect, Layer, Result, Schema } from "effect"
import * as Base64Url from "effect/encoding/Base64Url"
import { ChatMessage } from "../domain/Domain.ts"
import { InvalidRequest } from "../domain/LLMError.ts"

export const ConversationMetadata = Schema.Record(Schema.String, Schema.String)
export type ConversationMetadata = typeof ConversationMetadata.Type

/** A conversation with its messages in append order. Timestamps are epoch milliseconds. */
export const Conversation = Schema.Struct({
  id: Schema.String,
  /** The tenant / API-key hash the conversation belongs to, when scoped. */
  scope: Schema.optional(Schema.String),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  metadata: Schema.optional(ConversationMetadata),
  messages: Schema.Array(ChatMessage)
})
export type Conversation = typeof Conversation.Type

/** What `list` returns per conversation: everything but the messages. */
export const ConversationSummary = Schema.Struct({
  id: Schema.String,
  scope: Schema.optional(Schema.String),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  metadata: Schema.optional(ConversationMetadata),
  messageCount: Schema.Int
})
export type ConversationSummary = typeof ConversationSummary.Type

export interface ConversationPage {
  /** Newest first: by `updatedAt` descending, then `id` descending. */
  readonly items: ReadonlyArray<ConversationSummary>
  /** Pass to `list` for the next page; absent on the last page. */
  readonly nextCursor?: string | undefined
}

export interface CreateConversation {
  /** Caller-chosen id (e.g. the `conversationId` of a request); a random UUID when absent. */
  readonly id?: string | undefined
  readonly scope?: string | undefined
  readonly metadata?: ConversationMetadata | undefined
  /** Initial messages, stored as if appended in one batch. */
  readonly messages?: ReadonlyArray<ChatMessage> | undefined
}

export interface ScopeOption {
  /** When set, a conversation of another (or no) scope is treated as absent. */
  readonly scope?: string | undefined
}

export interface ListOptions extends ScopeOption {
  /** Page size, 1 to 100; 20 when absent. */
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

export interface AppendResult {
  readonly id: string
  /** Messages in the conversation after this append. */
  readonly messageCount: number
  readonly updatedAt: number
}

export class ConversationNotFound extends Schema.TaggedError<ConversationNotFound>()("ConversationNotFound", {
  id: Schema.String
}) {
  override get message(): string {
    return `conversation ${this.id} not found`
  }
}

export class ConversationAlreadyExists extends Schema.TaggedError<ConversationAlreadyExists>()(
  "ConversationAlreadyExists",
  { id: Schema.String }
) {
  override get message(): string {
    return `conversation ${this.id} already exists`
  }
}

export interface ConversationStorageShape {
  /**
   * Creates a conversation. An id that is taken fails with `ConversationAlreadyExists`,
   * which makes "create if missing" race-free:
   * `create({ id }).pipe(Effect.catchTag("ConversationAlreadyExists", () => Effect.void))`.
   * An expired conversation's id can be reused.
   */
  readonly create: (input?: CreateConversation) => Effect.Effect<Conversation, ConversationAlreadyExists>
  /** Appends one or several messages atomically, contiguously and in order; refreshes `updatedAt`. */
  readonly append: (
    id: string,
    messages: ChatMessage | ReadonlyArray<ChatMessage>,
    options?: ScopeOption
  ) => Effect.Effect<AppendResult, ConversationNotFound>
  readonly get: (id: string, options?: ScopeOption) => Effect.Effect<Conversation, ConversationNotFound>
  readonly list: (options?: ListOptions) => Effect.Effect<ConversationPage, InvalidRequest>
  readonly delete: (id: string, options?: ScopeOption) => Effect.Effect<void, ConversationNotFound>
  /** Deletes every expired conversation now and returns how many; 0 without a TTL. */
  readonly purgeExpired: Effect.Effect<number>
}

export interface ConversationStorageOptions {
  /** Conversations expire this long after their last update; never when absent. */
  readonly ttlSeconds?: number | undefined
  /** How often expired conversations are swept; `min(ttl, 60s)` when absent. */
  readonly purgeInterval?: Duration.Input | undefined
}

export class ConversationStorage extends Context.Service<ConversationStorage, ConversationStorageShape>()(
  "@llm-gateway/core/ConversationStorage"
) {
  /** A store in this process's memory: for tests and single-run tools. Lost on exit. */
  static readonly layerMemory = (options: ConversationStorageOptions = {}): Layer.Layer<ConversationStorage> =>
    Layer.effect(ConversationStorage, makeMemory(options))
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the store implementations (memory here, SQL in @llm-gateway/storage).

export const toMessageArray = (
  messages: ChatMessage | ReadonlyArray<ChatMessage>
): ReadonlyArray<ChatMessage> => Array.isArray(messages) ? messages : [messages as ChatMessage]

export const DefaultListLimit = 20
export const MaxListLimit = 100

export const listLimit = (limit: number | undefined): number =>
  limit === undefined || !Number.isFinite(limit)
    ? DefaultListLimit
    : Math.min(MaxListLimit, Math.max(1, Math.floor(limit)))

/** A position in the `updatedAt desc, id desc` order: the last item of the previous page. */
export interface ListCursor {
  readonly updatedAt: number
  readonly id: string
}

export const encodeCursor = (cursor: ListCursor): string => Base64Url.encode(`${cursor.updatedAt}:${cursor.id}`)

export const decodeCursor = (cursor: string): Effect.Effect<ListCursor, InvalidRequest> => {
  const invalid = new InvalidRequest({ message: "invalid conversation list cursor", param: "cursor" })
  const decoded = Base64Url.decodeString(cursor)
  if (Result.isFailure(decoded)) return Effect.fail(invalid)
  const i = decoded.success.indexOf(":")
  const updatedAt = Number(decoded.success.slice(0, i))
  if (i <= 0 || !Number.isSafeInteger(updatedAt)) return Effect.fail(invalid)
  return Effect.succeed({ updatedAt, id: decoded.success.slice(i + 1) })
}

/** The TTL in milliseconds, or undefined for "never expires". */
export const ttlMillis = (options: ConversationStorageOptions): number | undefined =>
  options.ttlSeconds !== undefined && options.ttlSeconds > 0 ? options.ttlSeconds * 1000 : undefined

/**
 * Runs `purge` every `purgeInterval` for the life of the enclosing scope (the store's layer).
 * A failed sweep is logged and retried at the next tick: expired rows are already invisible,
 * so a late purge only costs disk space.
 */
export const forkPurgeLoop = (
  options: ConversationStorageOptions,
  purge: Effect.Effect<number>
) => {
  const ttl = ttlMillis(options)
  if (ttl === undefined) return Effect.void
  const every = options.purgeInterval !== undefined
    ? Duration.fromInputUnsafe(options.purgeInterval)
    : Duration.millis(Math.min(ttl, 60_000))
  return purge.pipe(
    Effect.catchCause((cause) => Effect.logWarning("conversation purge failed", cause)),
    Effect.delay(every),
    Effect.forever,
    Effect.forkScoped,
    Effect.asVoid
  )
}

// ---------------------------------------------------------------------------------------------
// Memory store

interface MemoryEntry {
  readonly id: string
  readonly scope: string | undefined
  readonly createdAt: number
  updatedAt: number
  readonly metadata: ConversationMetadata | undefined
  readonly messages: Array<ChatMessage>
}

const makeMemory = Effect.fnUntraced(function*(options: ConversationStorageOptions) {
  const ttl = ttlMillis(options)
  const entries = new Map<string, MemoryEntry>()

  const isLive = (entry: MemoryEntry, now: number) => ttl === undefined || entry.updatedAt + ttl > now
  const visible = (entry: MemoryEntry | undefined, now: number, scope: string | undefined) =>
    entry !== undefined && isLive(entry, now) && (scope === undefined || entry.scope === scope)
      ? entry
      : undefined
  const toConversation = (e: MemoryEntry): Conversation => ({
    id: e.id,
    ...(e.scope !== undefined ? { scope: e.scope } : {}),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    ...(e.metadata !== undefined ? { metadata: { ...e.metadata } } : {}),
    messages: e.messages.map((m) => ({ ...m }))
  })

  // Every method reads the clock and then mutates synchronously, so each one is atomic
  // with respect to other fibers without a lock.
  const create = Effect.fn("ConversationStorage.create")(function*(input: CreateConversation = {}) {
    const now = yield* Clock.currentTimeMillis
    const id = input.id ?? crypto.randomUUID()
    const existing = entries.get(id)
    if (existing !== undefined && isLive(existing, now)) {
      return yield* new ConversationAlreadyExists({ id })
    }
    const entry: MemoryEntry = {
      id,
      scope: input.scope,
      createdAt: now,
      updatedAt: now,
      metadata: input.metadata !== undefined ? { ...input.metadata } : undefined,
      messages: (input.messages ?? []).map((m) => ({ ...m }))
    }
    entries.set(id, entry)
    return toConversation(entry)
  })

  const append = Effect.fn("ConversationStorage.append")(
    function*(id: string, messages: ChatMessage | ReadonlyArray<ChatMessage>, opts: ScopeOption = {}) {
      const now = yield* Clock.currentTimeMillis
      const entry = visible(entries.get(id), now, opts.scope)
      if (entry === undefined) return yield* new ConversationNotFound({ id })
      const batch = toMessageArray(messages)
      if (batch.length > 0) {
        for (const m of batch) entry.messages.push({ ...m })
        entry.updatedAt = Math.max(entry.updatedAt, now)
      }
      return { id, messageCount: entry.messages.length, updatedAt: entry.updatedAt }
    }
  )

  const get = Effect.fn("ConversationStorage.get")(function*(id: string, opts: ScopeOption = {}) {
    const now = yield* Clock.currentTimeMillis
    const entry = visible(entries.get(id), now, opts.scope)
    if (entry === undefined) return yield* new ConversationNotFound({ id })
    return toConversation(entry)
  })

  const list = Effect.fn("ConversationStorage.list")(function*(opts: ListOptions = {}) {
    const now = yield* Clock.currentTimeMillis
    const after = opts.cursor !== undefined ? yield* decodeCursor(opts.cursor) : undefined
    const limit = listLimit(opts.limit)
    const matching: Array<MemoryEntry> = []
    for (const entry of entries.values()) {
      if (visible(entry, now, opts.scope) === undefined) continue
      if (after !== undefined && !isBefore(entry, after)) continue
      matching.push(entry)
    }
    matching.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    const page = matching.slice(0, limit)
    const items = page.map(({ messages, ...e }): ConversationSummary => ({
      id: e.id,
      ...(e.scope !== undefined ? { scope: e.scope } : {}),
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      ...(e.metadata !== undefined ? { metadata: { ...e.metadata } } : {}),
      messageCount: messages.length
    }))
    const last = page[page.length - 1]
    return matching.length > limit && last !== undefined
      ? { items, nextCursor: encodeCursor({ updatedAt: last.updatedAt, id: last.id }) }
      : { items }
  })

  const del = Effect.fn("ConversationStorage.delete")(function*(id: string, opts: ScopeOption = {}) {
    const now = yield* Clock.currentTimeMillis
    if (visible(entries.get(id), now, opts.scope) === undefined) return yield* new ConversationNotFound({ id })
    entries.delete(id)
  })

  const purgeExpired = Effect.gen(function*() {
    if (ttl === undefined) return 0
    const now = yield* Clock.currentTimeMillis
    let purged = 0
    for (const [id, entry] of entries) {
      if (!isLive(entry, now)) {
        entries.delete(id)
        purged++
      }
    }
    return purged
  }).pipe(Effect.withSpan("ConversationStorage.purgeExpired"))

  yield* forkPurgeLoop(options, purgeExpired)

  return ConversationStorage.of({ create, append, get, list, delete: del, purgeExpired })
})

/** Whether `entry` comes after `cursor` in the `updatedAt desc, id desc` order. */
const isBefore = (entry: { readonly updatedAt: number; readonly id: string }, cursor: ListCursor) =>
  entry.updatedAt < cursor.updatedAt || (entry.updatedAt === cursor.updatedAt && entry.id < cursor.id)
