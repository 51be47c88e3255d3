/**
 * The idle collector (internal/idleCollector.ts): a full collection once the event loop has been
 * quiet for two ticks and the old generation has grown since the last major GC; never while
 * traffic keeps the loop busy. Decisions under TestClock with a scripted probe; the Node probe
 * itself against this process's real heap.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { loadGatewayConfig } from "llm-gateway/GatewayLayer"
import { defaultIdleCollectorOptions, nodeHeapProbe, runIdleCollector, type HeapProbe } from "../src/internal/idleCollector.ts"

const MB = 1024 * 1024

/** A heap whose busy share and old generation the test sets; `collect` drops the old generation to `live`. */
const scripted = (start: { busy: number; old: number; live: number }) => {
  const state = { ...start, collections: 0 }
  const probe: HeapProbe = {
    busyShare: () => state.busy,
    oldGenerationBytes: () => state.old,
    collect: () => {
      state.collections++
      state.old = state.live
    }
  }
  return { state, probe }
}

const ticks = (n: number) => TestClock.adjust(`${250 * n} millis`)

it.effect("collects once the loop has been quiet for two ticks after the old generation grew", () =>
  Effect.scoped(Effect.gen(function*() {
    const heap = scripted({ busy: 0.6, old: 20 * MB, live: 20 * MB })
    yield* runIdleCollector(heap.probe)
    // a burst: busy, promoting
    heap.state.old = 30 * MB
    yield* ticks(4)
    expect(heap.state.collections).toBe(0)
    // quiet: one tick is not enough, the second is
    heap.state.busy = 0
    yield* ticks(1)
    expect(heap.state.collections).toBe(0)
    yield* ticks(1)
    expect(heap.state.collections).toBe(1)
    expect(heap.state.old).toBe(20 * MB)
    // still quiet, nothing new to collect: left alone
    yield* ticks(20)
    expect(heap.state.collections).toBe(1)
  })))

it.effect("never collects while traffic keeps the loop busy, however much the old generation grows", () =>
  Effect.scoped(Effect.gen(function*() {
    const heap = scripted({ busy: 0.06, old: 20 * MB, live: 20 * MB })
    yield* runIdleCollector(heap.probe)
    for (let i = 0; i < 40; i++) {
      heap.state.old += 2 * MB
      yield* ticks(1)
    }
    expect(heap.state.collections).toBe(0)
  })))

it.effect("leaves a quiet gateway alone when the old generation grew less than the threshold", () =>
  Effect.scoped(Effect.gen(function*() {
    const heap = scripted({ busy: 0, old: 20 * MB, live: 20 * MB })
    yield* runIdleCollector(heap.probe)
    heap.state.old = 20 * MB + defaultIdleCollectorOptions.growthBytes - 1
    yield* ticks(20)
    expect(heap.state.collections).toBe(0)
  })))

it.effect("a major GC that V8 ran itself moves the baseline: growth counts from after it", () =>
  Effect.scoped(Effect.gen(function*() {
    const heap = scripted({ busy: 0.6, old: 20 * MB, live: 20 * MB })
    yield* runIdleCollector(heap.probe)
    heap.state.old = 40 * MB
    yield* ticks(1)
    // V8's mark-compact during the burst: 40 → 22 MB, then 2 MB more promoted
    heap.state.old = 22 * MB
    yield* ticks(1)
    heap.state.old = 24 * MB
    heap.state.busy = 0
    yield* ticks(10)
    expect(heap.state.collections).toBe(0)
    heap.state.old = 27 * MB
    yield* ticks(1)
    expect(heap.state.collections).toBe(1)
  })))

it.effect("stops with its scope", () =>
  Effect.gen(function*() {
    const heap = scripted({ busy: 0, old: 20 * MB, live: 20 * MB })
    const fiber = yield* Effect.forkChild(Effect.scoped(Effect.andThen(runIdleCollector(heap.probe), Effect.never)))
    yield* ticks(1)
    yield* Fiber.interrupt(fiber)
    heap.state.old = 40 * MB
    yield* ticks(10)
    expect(heap.state.collections).toBe(0)
  }))

it("the Node probe reads this process's old generation and its collection frees what is unreachable", () => {
  const probe = nodeHeapProbe()
  probe.collect()
  const before = probe.oldGenerationBytes()
  // arrays above V8's regular object size go to a large-object space
  const big = new Array<Array<number>>()
  for (let i = 0; i < 80; i++) big.push(new Array<number>(50_000).fill(i))
  // still reachable: a full collection keeps them, and moves any still young to the old generation
  probe.collect()
  expect(probe.oldGenerationBytes() - before).toBeGreaterThan(12 * MB)
  big.length = 0
  probe.collect()
  expect(probe.oldGenerationBytes() - before).toBeLessThan(4 * MB)
  const share = probe.busyShare()
  expect(share).toBeGreaterThanOrEqual(0)
  expect(share).toBeLessThanOrEqual(1)
})

it.effect("server.idleGc is a boolean, off with false; anything else is a configuration error naming it", () =>
  Effect.gen(function*() {
    const off = yield* loadGatewayConfig({ config: { server: { idleGc: false } }, env: {} })
    expect(off.server.idleGc).toBe(false)
    const e = yield* Effect.flip(loadGatewayConfig({ config: { server: { idleGc: "sometimes" as unknown as boolean } }, env: {} }))
    expect(e).toMatchObject({ _tag: "ConfigurationError", path: "server.idleGc" })
    expect(e.message).toContain("sometimes")
  }))
