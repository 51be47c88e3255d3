/**
 * The behaviour every ConversationStorage keeps, as one suite run against each store
 * (memory here in core; SQLite and Postgres in @llm-gateway/storage).
 *
 * Each test builds a fresh store from `make`, on the TestClock: stores take every timestamp
 * from `Clock`, so `TestClock.adjust` moves conversations through their TTL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import type { ChatMessage } from "../src/domain/Domain.ts"
import {
  ConversationStorage,
  type ConversationStorageOptions,
  type ConversationSummary
} from "../src/conversations/ConversationStorage.ts"

/**
 * Lets a test see rows the store itself no longer shows (expired but not yet purged).
 * SQL stores provide it; the memory store cannot, its sweep is synchronous instead.
 */
export class StoreProbe extends Context.Service<StoreProbe, {
  readonly storedConversations: Effect.Effect<number>
}>()("@llm-gateway/test/StoreProbe") {}

export type MakeStore = (options: ConversationStorageOptions) => Layer.Layer<ConversationStorage, unknown>

/** The TestClock's time when each store is built. */
export const T0 = 1_700_000_000_000

const user = (content: string): ChatMessage => ({ role: "user", content })
const assistant = (content: string): ChatMessage => ({ role: "assistant", content })

/**
 * A tool round trip with every kind of part (issue 13): an image, signed reasoning, a tool call,
 * the `tool` role's result, then the answer. Stores must give it back exactly as appended.
 */
export const toolRoundTrip: ReadonlyArray<ChatMessage> = [
  { role: "system", content: "You can look up the weather." },
  {
    role: "user",
    content: [
      { type: "text", text: "Weather where this photo was taken?" },
      { type: "file", mediaType: "image/png", data: "iVBORw0KGgo=", options: { openai: { imageDetail: "low" } } }
    ]
  },
  {
    role: "assistant",
    content: [
      { type: "reasoning", text: "", options: { anthropic: { redactedData: "EmwKAhgB" } } },
      { type: "reasoning", text: "It looks like Paris.", options: { anthropic: { signature: "sig-1" } } },
      { type: "tool-call", id: "toolu_01", name: "get_weather", params: { city: "Paris", days: [1, 2] } }
    ]
  },
  {
    role: "tool",
    content: [{ type: "tool-result", id: "toolu_01", name: "get_weather", isFailure: false, result: { temp: 21, sky: "clear \u0000 \"ok\"" } }]
  },
  { role: "assistant", content: "21 °C and clear in Paris." }
]

/** Real-time wait (bounded) for I/O started by a fiber the TestClock woke. */
const eventually = <A>(probe: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 300; i++) {
      const value = yield* probe
      if (done(value)) return value
      yield* TestClock.withLive(Effect.sleep("10 millis"))
    }
    return yield* probe
  })

export const conversationStorageContract = (name: string, make: MakeStore, options: {
  /** Concurrent appends in the ordering test. */
  readonly concurrentAppends?: number
} = {}) =>
  describe(`ConversationStorage contract: ${name}`, () => {
    // Every test starts at a realistic epoch, so timestamps exceed 32 bits (BIGINT columns), and
    // before the store is built: drivers schedule their own timers (pool idle reapers) on the
    // same clock, and a later jump of decades would replay those timers millions of times.
    // The body runs inside the store's layer, so it also sees a StoreProbe the layer provides.
    const withStore = <A, E>(
      storeOptions: ConversationStorageOptions,
      body: (storage: ConversationStorage["Service"]) => Effect.Effect<A, E>
    ) =>
      Effect.andThen(
        TestClock.setTime(T0),
        Effect.flatMap(Effect.service(ConversationStorage), body).pipe(Effect.provide(make(storeOptions)))
      )

    it.effect("creates and reads back a conversation with Clock timestamps", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          yield* TestClock.adjust("1 second")
          const created = yield* storage.create({
            scope: "tenant-a",
            metadata: { title: "hello", lang: "en" },
            messages: [{ role: "system", content: "be brief" }, user("hi")]
          })
          expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
          expect(created.createdAt).toBe(T0 + 1000)
          const got = yield* storage.get(created.id)
          expect(got).toEqual({
            id: created.id,
            scope: "tenant-a",
            createdAt: T0 + 1000,
            updatedAt: T0 + 1000,
            metadata: { title: "hello", lang: "en" },
            messages: [{ role: "system", content: "be brief" }, user("hi")]
          })
          const bare = yield* storage.create({ id: "plain" })
          expect(bare).toEqual({ id: "plain", createdAt: T0 + 1000, updatedAt: T0 + 1000, messages: [] })
          expect(yield* storage.get("plain")).toEqual(bare)
        })))

    it.effect("refuses a taken id and reports unknown ids as ConversationNotFound", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "c1" })
          const taken = yield* Effect.flip(storage.create({ id: "c1", messages: [user("lost?")] }))
          expect(taken._tag).toBe("ConversationAlreadyExists")
          expect((yield* storage.get("c1")).messages).toEqual([])
          for (const failed of [storage.get("nope"), storage.append("nope", user("x")), storage.delete("nope")]) {
            const e = yield* Effect.flip(failed)
            expect([e._tag, e.id]).toEqual(["ConversationNotFound", "nope"])
          }
        })))

    it.effect("appends single messages and batches in order and refreshes updatedAt", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "c", messages: [user("0")] })
          yield* TestClock.adjust("5 seconds")
          const one = yield* storage.append("c", assistant("1"))
          expect(one).toEqual({ id: "c", messageCount: 2, updatedAt: T0 + 5000 })
          yield* TestClock.adjust("5 seconds")
          const batch = yield* storage.append("c", [user("2"), assistant("3"), user("4")])
          expect(batch).toEqual({ id: "c", messageCount: 5, updatedAt: T0 + 10_000 })
          const empty = yield* storage.append("c", [])
          expect(empty.messageCount).toBe(5)
          const got = yield* storage.get("c")
          expect(got.messages.map((m) => m.content)).toEqual(["0", "1", "2", "3", "4"])
          expect(got.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user"])
          expect([got.createdAt, got.updatedAt]).toEqual([T0, T0 + 10_000])
        })))

    it.effect("stores any text exactly: quotes, unicode, empty and large contents, odd ids", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          const texts = [
            "it's \"quoted\"; DROP TABLE conversations; --",
            "emoji 🦜🔥, CJK 你好, RTL مرحبا, combining é",
            "line\nbreaks\r\n\ttabs and \\backslashes\\",
            "",
            "x".repeat(200_000)
          ]
          const id = "ünï/cödé:'id' 🦜"
          yield* storage.create({ id, scope: "scope 'ü'", metadata: { "título": "¿qué? 🦜", empty: "" } })
          yield* storage.append(id, texts.map(user))
          const got = yield* storage.get(id, { scope: "scope 'ü'" })
          expect(got.messages.map((m) => m.content)).toEqual(texts)
          expect(got.metadata).toEqual({ "título": "¿qué? 🦜", empty: "" })
          expect((yield* storage.list({ scope: "scope 'ü'" })).items.map((c) => c.id)).toEqual([id])
        })))

    it.effect("keeps messages made of parts: a tool round trip with the tool role, files and reasoning", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          const created = yield* storage.create({ id: "tools", messages: toolRoundTrip.slice(0, 2) })
          expect(created.messages).toEqual(toolRoundTrip.slice(0, 2))
          yield* storage.append("tools", toolRoundTrip[2])
          yield* storage.append("tools", toolRoundTrip.slice(3))
          const got = yield* storage.get("tools")
          expect(got.messages).toEqual(toolRoundTrip)
          expect(got.messages[3].role).toBe("tool")
        })))

    it.effect("keeps every message of concurrent appends, each batch contiguous and in order", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          const n = options.concurrentAppends ?? 50
          yield* storage.create({ id: "busy" })
          const results = yield* Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            (i) => storage.append("busy", [user(`q${i}`), assistant(`a${i}`)]),
            { concurrency: "unbounded" }
          )
          // Every append saw a distinct count: none overwrote another.
          expect(new Set(results.map((r) => r.messageCount)).size).toBe(n)
          const { messages } = yield* storage.get("busy")
          expect(messages).toHaveLength(2 * n)
          expect(new Set(messages.map((m) => m.content)).size).toBe(2 * n)
          for (let k = 0; k < messages.length; k += 2) {
            const i = messages[k].content.slice(1)
            expect([messages[k], messages[k + 1]]).toEqual([user(`q${i}`), assistant(`a${i}`)])
          }
        })))

    it.effect("deletes", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "gone", messages: [user("x")] })
          yield* storage.create({ id: "kept" })
          yield* storage.delete("gone")
          expect((yield* Effect.flip(storage.get("gone")))._tag).toBe("ConversationNotFound")
          expect((yield* storage.list()).items.map((c) => c.id)).toEqual(["kept"])
          // The id is free again, with no leftover messages.
          expect((yield* storage.create({ id: "gone" })).messages).toEqual([])
          expect((yield* storage.get("gone")).messages).toEqual([])
        })))

    it.effect("hides other scopes' conversations", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "a1", scope: "a" })
          yield* storage.create({ id: "b1", scope: "b" })
          yield* storage.create({ id: "none" })
          const b = { scope: "b" }
          expect((yield* Effect.flip(storage.get("a1", b)))._tag).toBe("ConversationNotFound")
          expect((yield* Effect.flip(storage.get("none", b)))._tag).toBe("ConversationNotFound")
          expect((yield* Effect.flip(storage.append("a1", user("x"), b)))._tag).toBe("ConversationNotFound")
          expect((yield* Effect.flip(storage.delete("a1", b)))._tag).toBe("ConversationNotFound")
          expect((yield* storage.get("a1")).messages).toEqual([])
          expect((yield* storage.list(b)).items.map((c) => c.id)).toEqual(["b1"])
          yield* storage.append("b1", user("mine"), b)
          expect((yield* storage.get("b1", b)).messages).toEqual([user("mine")])
          expect((yield* storage.list()).items.map((c) => c.id).sort()).toEqual(["a1", "b1", "none"])
          // the owner deletes within its scope (what DELETE /api/v1/llm/conversations/{id} does)
          yield* storage.delete("b1", b)
          expect((yield* Effect.flip(storage.get("b1", b)))._tag).toBe("ConversationNotFound")
          expect((yield* storage.list()).items.map((c) => c.id).sort()).toEqual(["a1", "none"])
        })))

    it.effect("lists newest first in pages that neither skip nor repeat", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          for (const id of ["c1", "c2", "c3", "c4"]) {
            yield* storage.create({ id, metadata: { n: id } })
            yield* TestClock.adjust("1 second")
          }
          // Three created in the same millisecond: ties break on id, descending.
          for (const id of ["t1", "t3", "t2"]) yield* storage.create({ id })
          yield* TestClock.adjust("1 second")
          yield* storage.append("c1", [user("x"), assistant("y")])
          const seen: Array<ConversationSummary> = []
          let cursor: string | undefined
          let pages = 0
          do {
            const page = yield* storage.list({ limit: 2, cursor })
            expect(page.items.length).toBeLessThanOrEqual(2)
            seen.push(...page.items)
            cursor = page.nextCursor
            pages++
          } while (cursor !== undefined && pages < 10)
          expect(seen.map((c) => c.id)).toEqual(["c1", "t3", "t2", "t1", "c4", "c3", "c2"])
          expect(pages).toBe(4)
          expect(seen[0]).toEqual({ id: "c1", createdAt: T0, updatedAt: T0 + 5000, metadata: { n: "c1" }, messageCount: 2 })
          expect((yield* storage.list()).items).toHaveLength(7)
          const invalid = yield* Effect.flip(storage.list({ cursor: "%%%" }))
          expect([invalid._tag, invalid.param]).toEqual(["InvalidRequest", "cursor"])
        })))

    it.effect("expires conversations ttlSeconds after their last update", () =>
      withStore({ ttlSeconds: 60, purgeInterval: "1 day" }, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "old", messages: [user("old")] })
          yield* storage.create({ id: "active" })
          yield* TestClock.adjust("30 seconds")
          yield* storage.append("active", user("still here"))
          yield* TestClock.adjust("29 seconds")
          expect((yield* storage.get("old")).messages).toEqual([user("old")])
          yield* TestClock.adjust("1 second") // old: last update exactly 60 s ago
          expect((yield* Effect.flip(storage.get("old")))._tag).toBe("ConversationNotFound")
          expect((yield* Effect.flip(storage.append("old", user("late"))))._tag).toBe("ConversationNotFound")
          expect((yield* Effect.flip(storage.delete("old")))._tag).toBe("ConversationNotFound")
          expect((yield* storage.list()).items.map((c) => c.id)).toEqual(["active"])
          expect(yield* storage.purgeExpired).toBe(1)
          expect(yield* storage.purgeExpired).toBe(0)
          // An expired id can be taken again, starting empty.
          yield* storage.create({ id: "old" })
          expect((yield* storage.get("old")).messages).toEqual([])
          yield* TestClock.adjust("30 seconds")
          expect((yield* Effect.flip(storage.get("active")))._tag).toBe("ConversationNotFound")
          expect((yield* storage.get("old")).id).toBe("old")
        })))

    it.effect("sweeps expired conversations in the background", () =>
      withStore({ ttlSeconds: 10 }, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "a", messages: [user("x")] })
          yield* storage.create({ id: "b" })
          const probe = yield* Effect.serviceOption(StoreProbe)
          if (Option.isSome(probe)) expect(yield* probe.value.storedConversations).toBe(2)
          // The sweep runs every min(ttl, 60 s) = 10 s: at 10 s both are exactly expired.
          yield* TestClock.adjust("10 seconds")
          if (Option.isSome(probe)) {
            expect(yield* eventually(probe.value.storedConversations, (n) => n === 0)).toBe(0)
          } else {
            // Memory sweeps synchronously when woken: nothing is left to purge.
            expect(yield* storage.purgeExpired).toBe(0)
          }
          expect((yield* storage.list()).items).toEqual([])
        })))

    it.effect("never expires without a TTL", () =>
      withStore({}, (storage) =>
        Effect.gen(function*() {
          yield* storage.create({ id: "forever" })
          // Long enough to matter, short enough for drivers' periodic timers to replay quickly.
          yield* TestClock.adjust("2 days")
          expect((yield* storage.get("forever")).id).toBe("forever")
          expect(yield* storage.purgeExpired).toBe(0)
        })))
  })
