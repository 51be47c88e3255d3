import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConversationStorage, decodeCursor, encodeCursor, listLimit } from "../src/conversations/ConversationStorage.ts"
import { conversationStorageContract } from "./ConversationStorageContract.ts"

conversationStorageContract("memory", (options) => ConversationStorage.layerMemory(options))

describe("ConversationStorage helpers", () => {
  it.effect("round-trips list cursors, ids with separators included", () =>
    Effect.gen(function*() {
      const cursor = { updatedAt: 1_700_000_000_123, id: "a:b/c d" }
      expect(yield* decodeCursor(encodeCursor(cursor))).toEqual(cursor)
      for (const bad of ["", "bm9wZQ", encodeCursor({ updatedAt: 1, id: "x" }).slice(2)]) {
        expect((yield* Effect.flip(decodeCursor(bad)))._tag).toBe("InvalidRequest")
      }
    }))
  it("clamps page sizes", () => {
    expect([listLimit(undefined), listLimit(0), listLimit(7.9), listLimit(10_000), listLimit(Number.NaN)])
      .toEqual([20, 1, 7, 100, 20])
  })
  it.effect("returns copies: changing a returned conversation does not change the store", () =>
    Effect.gen(function*() {
      const storage = yield* ConversationStorage
      const created = yield* storage.create({ id: "c", metadata: { k: "v" }, messages: [{ role: "user", content: "hi" }] })
      ;(created.messages as Array<unknown>).push({ role: "user", content: "injected" })
      ;(created.metadata as Record<string, string>).k = "changed"
      const got = yield* storage.get("c")
      expect(got.messages).toHaveLength(1)
      expect(got.metadata).toEqual({ k: "v" })
    }).pipe(Effect.provide(ConversationStorage.layerMemory())))
})
