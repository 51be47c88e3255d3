/**
 * The router's stream works on batches (an upstream read that holds several SSE events arrives
 * as one array): chunk order, the per-chunk decoration and the last chunk's usage and cost must
 * not depend on how the upstream's chunks were grouped.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { makeScriptedClient } from "@llm-gateway/testing/ScriptedModelClient"
import type { StreamChunk } from "../src/domain/Domain.ts"
import { attemptsOf, NetworkError } from "../src/domain/LLMError.ts"
import { ModelClients } from "../src/providers/ModelClients.ts"
import { gatewayConfig, makeRouter, provider } from "./router/fixtures.ts"

const usage = { promptTokens: 100, completionTokens: 20, totalTokens: 120 }
const config = gatewayConfig(
  [provider("a", "openai", [{ id: "m", inputCostPer1M: 1, outputCostPer1M: 2 }])],
  { tasks: { general: ["a/m"] }, maxRetries: 0 }
)

/** A client whose stream emits exactly these batches (then fails with `failWith`, if given). */
const batched = (batches: ReadonlyArray<ReadonlyArray<StreamChunk>>, failWith?: NetworkError) => {
  const base = makeScriptedClient({ provider: "a" })
  const body = Stream.fromArrays(...batches.map((b) => [...b]))
  const stream = () => (failWith === undefined ? body : Stream.concat(body, Stream.fail(failWith)))
  return ModelClients.layerFrom([{ ...base.client, stream }])
}

const collectBatches = <E>(s: Stream.Stream<StreamChunk, E>) =>
  Effect.gen(function*() {
    const batches: Array<ReadonlyArray<StreamChunk>> = []
    const fiber = yield* Effect.forkChild(Stream.runForEachArray(s, (b) => Effect.sync(() => void batches.push(b))))
    yield* TestClock.adjust(1_000)
    yield* Fiber.join(fiber)
    return batches
  })

describe("ModelRouter.stream over batched upstream chunks", () => {
  it.effect("keeps order and batches; attempts on the first chunk only; usage and cost on the last", () =>
    Effect.gen(function*() {
      const router = yield* makeRouter(config, batched([
        [{ delta: "one " }, { delta: "two " }, { delta: "three " }],
        [{ delta: "four" }, { delta: "", usage, finishReason: "stop" }]
      ]))
      const batches = yield* collectBatches(router.stream({ prompt: "hi" }))
      expect(batches.map((b) => b.length)).toEqual([3, 2])
      const chunks = batches.flat()
      expect(chunks.map((c) => c.delta)).toEqual(["one ", "two ", "three ", "four", ""])
      expect(chunks.every((c) => c.provider === "a" && c.model === "m")).toBe(true)
      expect(chunks.map((c) => c.attempts !== undefined)).toEqual([true, false, false, false, false])
      const last = chunks[chunks.length - 1]
      expect(last).toMatchObject({ usage, finishReason: "stop" })
      expect(last.costUsd).toBeCloseTo((100 * 1 + 20 * 2) / 1e6, 12)
      expect(chunks.slice(0, -1).every((c) => c.costUsd === undefined && c.usage === undefined)).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("without upstream usage, one estimated closing chunk follows the last batch", () =>
    Effect.gen(function*() {
      const router = yield* makeRouter(config, batched([[{ delta: "abcd" }, { delta: "efgh", finishReason: "length" }]]))
      const chunks = (yield* collectBatches(router.stream({ prompt: "hi" }))).flat()
      expect(chunks.map((c) => c.delta)).toEqual(["abcd", "efgh", ""])
      expect(chunks[2]).toMatchObject({ provider: "a", finishReason: "length", usage: { completionTokens: 2 } })
      expect(chunks[2].attempts).toBeUndefined()
    }).pipe(Effect.scoped))

  it.effect("a failure after a batch delivers the batch, then the typed error", () =>
    Effect.gen(function*() {
      const net = new NetworkError({ model: "a/m", message: "connection reset" })
      const router = yield* makeRouter(config, batched([[{ delta: "par" }, { delta: "tial" }]], net))
      const seen: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Effect.flip(Stream.runForEach(router.stream({ prompt: "hi" }), (c) => Effect.sync(() => void seen.push(c.delta))))
      )
      yield* TestClock.adjust(1_000)
      const e = yield* Fiber.join(fiber)
      expect(seen).toEqual(["par", "tial"])
      expect(e._tag).toBe("NetworkError")
      expect(attemptsOf(e)?.map((a) => a.outcome)).toEqual(["ok", "NetworkError:mid-stream"])
    }).pipe(Effect.scoped))
})
