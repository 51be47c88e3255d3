import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Logger, Metric, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CacheL2, CacheL2Error, type CacheL2Shape, makeMemory } from "../src/cache/CacheL2.ts"
import { Embedder } from "../src/cache/Embedder.ts"
import { CacheService, cacheL2ErrorsTotal, defaultConfig, makeWith } from "../src/cache/CacheService.ts"
import type { CacheConfig } from "../src/config/ConfigSchema.ts"
import * as GatewayMetrics from "../src/metrics/GatewayMetrics.ts"
import { type LLMRequest, type LLMResponse, makeUsage } from "../src/domain/Domain.ts"
import { NetworkError } from "../src/domain/LLMError.ts"

const response = (content: string): LLMResponse => ({
  content,
  provider: "openai",
  model: "gpt-4o-mini",
  usage: makeUsage(3, 5),
  costUsd: 0.001,
  latencyMs: 12,
  cached: false,
  finishReason: "stop",
  attempts: [{ model: "openai/gpt-4o-mini", outcome: "ok", ms: 12 }]
})

const config = (over: Partial<CacheConfig> = {}): CacheConfig => ({ ...defaultConfig, ...over })

/** An upstream stand-in that counts its calls. */
const upstream = (content = "answer") => {
  let calls = 0
  return {
    compute: Effect.sync(() => {
      calls++
      return response(`${content} #${calls}`)
    }),
    calls: () => calls
  }
}

const build = (cfg: CacheConfig = config(), l2?: CacheL2Shape) => makeWith(cfg, { l2, embedder: undefined })

const req: LLMRequest = { prompt: "What is the CPU usage?", taskType: "analysis", preferences: { temperature: 0 } }
const ctx = { scope: "tenant-a", candidates: ["openai/gpt-4o-mini"] }

const captureLogs = () => {
  const lines: Array<{ level: string; message: string }> = []
  const logger = Logger.make((o) => {
    lines.push({ level: o.logLevel, message: Array.isArray(o.message) ? o.message.join(" ") : String(o.message) })
  })
  return { lines, layer: Logger.layer([logger]) }
}

describe("CacheService key", () => {
  it.effect("is stable under normalisation and separates everything that changes the answer", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const k = cache.key(req, ctx)
      // prompt vs the equivalent message list, key order of preferences: same key
      expect(cache.key({ messages: [{ role: "user", content: req.prompt! }], preferences: { temperature: 0 }, taskType: "analysis" }, ctx)).toBe(k)
      expect(cache.key({ prompt: "hi" }, ctx)).toBe(cache.key({ prompt: "hi", taskType: "general" }, ctx))
      // round-robin / breaker state reorder the candidates between requests: the set is what counts
      const two = ["openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307"]
      expect(cache.key(req, { ...ctx, candidates: two })).toBe(cache.key(req, { ...ctx, candidates: [...two].reverse() }))
      const different = [
        cache.key(req, { ...ctx, scope: "tenant-b" }),
        cache.key(req, { ...ctx, candidates: ["anthropic/claude-3-haiku-20240307"] }),
        cache.key({ ...req, taskType: "sql" }, ctx),
        cache.key({ ...req, preferences: { temperature: 0.7 } }, ctx),
        cache.key({ ...req, preferences: { temperature: 0, maxTokens: 10 } }, ctx),
        cache.key({ ...req, preferences: { temperature: 0, topP: 0.5 } }, ctx),
        cache.key({ ...req, preferences: { temperature: 0, stop: ["\n"] } }, ctx),
        cache.key({ ...req, responseFormat: { type: "json_object" } }, ctx),
        cache.key({ ...req, prompt: "What is the CPU usage? " }, ctx),
        cache.key({ messages: [{ role: "system", content: req.prompt! }], taskType: "analysis", preferences: { temperature: 0 } }, ctx)
      ]
      expect(new Set([k, ...different]).size).toBe(different.length + 1)
      // JSON schemas compare by content, not by key order
      const a = cache.key({ ...req, responseFormat: { type: "json_schema", name: "x", schema: { type: "object", required: ["a"] } } }, ctx)
      const b = cache.key({ ...req, responseFormat: { type: "json_schema", name: "x", schema: { required: ["a"], type: "object" } } }, ctx)
      expect(a).toBe(b)
    })))
})

describe("CacheService exact cache", () => {
  it.effect("misses, then hits with the stored answer marked cached", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const up = upstream()
      const k = cache.key(req, ctx)
      const first = yield* cache.getOrCompute(k, up.compute)
      const second = yield* cache.getOrCompute(k, up.compute)
      expect(first.cache).toBe("miss")
      expect(first.response.cached).toBe(false)
      expect(second.cache).toBe("hit")
      expect(second.response).toEqual({ ...first.response, cached: true })
      expect(up.calls()).toBe(1)
      expect(Option.getOrUndefined(yield* cache.get(k))?.content).toBe("answer #1")
    })))

  it.effect("keeps tenants apart: the same request in another scope is a miss", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const up = upstream()
      yield* cache.getOrCompute(cache.key(req, ctx), up.compute)
      const other = yield* cache.getOrCompute(cache.key(req, { ...ctx, scope: "tenant-b" }), up.compute)
      expect(other.cache).toBe("miss")
      expect(other.response.content).toBe("answer #2")
    })))

  it.effect("expires entries after ttlSeconds (TestClock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build(config({ ttlSeconds: 60 }))
      const up = upstream()
      const k = cache.key(req, ctx)
      yield* cache.getOrCompute(k, up.compute)
      yield* TestClock.adjust("59 seconds")
      expect((yield* cache.getOrCompute(k, up.compute)).cache).toBe("hit")
      yield* TestClock.adjust("1 second")
      expect((yield* cache.getOrCompute(k, up.compute)).cache).toBe("miss")
      expect(up.calls()).toBe(2)
    })))

  it.effect("evicts the least recently used entry beyond maxSize", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build(config({ maxSize: 2 }))
      const up = upstream()
      const [a, b, c] = ["a", "b", "c"].map((p) => cache.key({ prompt: p }, ctx))
      yield* cache.getOrCompute(a, up.compute)
      yield* cache.getOrCompute(b, up.compute)
      yield* cache.getOrCompute(a, up.compute) // a is now the most recent
      yield* cache.getOrCompute(c, up.compute) // evicts b
      expect((yield* cache.stats).size).toBe(2)
      expect((yield* cache.getOrCompute(a, up.compute)).cache).toBe("hit")
      expect((yield* cache.getOrCompute(c, up.compute)).cache).toBe("hit")
      expect((yield* cache.getOrCompute(b, up.compute)).cache).toBe("miss")
    })))

  it.effect("bypass neither reads nor writes the cache", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const up = upstream()
      const k = cache.key(req, ctx)
      yield* cache.getOrCompute(k, up.compute)
      const bypassed = yield* cache.getOrCompute(k, up.compute, { bypass: true })
      expect(bypassed.cache).toBe("bypass")
      expect(bypassed.response.content).toBe("answer #2")
      expect((yield* cache.getOrCompute(k, up.compute)).response.content).toBe("answer #1")
      const fresh = cache.key({ prompt: "fresh" }, ctx)
      yield* cache.getOrCompute(fresh, up.compute, { bypass: true })
      expect((yield* cache.getOrCompute(fresh, up.compute)).cache).toBe("miss")
    })))

  it.effect("a disabled cache always computes", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build(config({ enabled: false }))
      const up = upstream()
      const k = cache.key(req, ctx)
      yield* cache.getOrCompute(k, up.compute)
      expect((yield* cache.getOrCompute(k, up.compute)).cache).toBe("bypass")
      expect(up.calls()).toBe(2)
    })))

  it.effect("does not store an answer that ended in an error", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const k = cache.key(req, ctx)
      yield* cache.getOrCompute(k, Effect.succeed({ ...response("partial"), finishReason: "error" as const }))
      expect((yield* cache.getOrCompute(k, Effect.succeed(response("ok")))).cache).toBe("miss")
    })))

  it.effect("get and set serve the streaming path: a miss, the streamed answer stored, then a hit", () =>
    Effect.scoped(Effect.gen(function*() {
      const l2 = makeMemory()
      const a = yield* build(config(), l2)
      const k = a.key(req, ctx)
      expect(Option.isNone(yield* a.get(k))).toBe(true)
      yield* a.set(k, response("streamed"))
      expect(Option.getOrUndefined(yield* a.get(k))).toMatchObject({ content: "streamed", cached: true })
      // set writes through to L2: another instance finds it with get, and it fills its L1
      const b = yield* build(config(), l2)
      expect(Option.getOrUndefined(yield* b.get(k))?.content).toBe("streamed")
      expect((yield* b.stats).size).toBe(1)
      // an answer that ended in an error is not stored
      const broken = a.key({ prompt: "broken" }, ctx)
      yield* a.set(broken, { ...response("cut"), finishReason: "error" })
      expect(Option.isNone(yield* a.get(broken))).toBe(true)
    })))

  it.effect("reports size, hits, misses and hit rate", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const up = upstream()
      const k = cache.key(req, ctx)
      for (let i = 0; i < 4; i++) yield* cache.getOrCompute(k, up.compute)
      yield* cache.getOrCompute(cache.key({ prompt: "other" }, ctx), up.compute)
      expect(yield* cache.stats).toEqual({ size: 2, hits: 3, misses: 2, hitRate: 0.6, l2Errors: 0, l2Available: false })
      // the same numbers on /metrics, per provider (seed 004 names)
      const openai = { provider: "openai" }
      expect((yield* Metric.value(Metric.withAttributes(GatewayMetrics.cacheHitsTotal, openai))).count).toBe(3)
      expect((yield* Metric.value(Metric.withAttributes(GatewayMetrics.cacheMissesTotal, openai))).count).toBe(2)
      expect((yield* Metric.value(Metric.withAttributes(GatewayMetrics.cacheHitRate, openai))).value).toBe(0.6)
    })).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})

describe("CacheService coalescing", () => {
  /** N callers ask for the same key at once; resolves when all of them are waiting. */
  const crowd = <A, E>(n: number, call: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      let started = 0
      const fiber = yield* Effect.forkChild(
        Effect.all(Array.from({ length: n }, () => Effect.suspend(() => (started++, call))), { concurrency: "unbounded" })
      )
      while (started < n) yield* Effect.yieldNow
      yield* Effect.yieldNow
      return fiber
    })

  it.effect("20 identical concurrent misses run the upstream once and all get the answer", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const compute = Effect.andThen(Effect.sync(() => calls++), Effect.as(Deferred.await(gate), response("shared")))
      const k = cache.key(req, ctx)
      const fiber = yield* crowd(20, cache.getOrCompute(k, compute))
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.join(fiber)
      expect(calls).toBe(1)
      expect(results.every((r) => r.response.content === "shared")).toBe(true)
      expect(results.filter((r) => r.cache === "miss")).toHaveLength(1)
      expect(results.filter((r) => r.cache === "hit" && r.response.cached)).toHaveLength(19)
    })))

  it.effect("a failing upstream fails every waiter and is not cached", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const failing = Effect.andThen(
        Effect.sync(() => calls++),
        Effect.andThen(Deferred.await(gate), Effect.fail(new NetworkError({ model: "openai/gpt-4o-mini", message: "reset" })))
      )
      const k = cache.key(req, ctx)
      const fiber = yield* crowd(20, Effect.flip(cache.getOrCompute(k, failing)))
      yield* Deferred.succeed(gate, undefined)
      const errors = yield* Fiber.join(fiber)
      expect(calls).toBe(1)
      expect(errors.map((e) => e._tag)).toEqual(Array(20).fill("NetworkError"))
      const after = yield* cache.getOrCompute(k, Effect.succeed(response("recovered")))
      expect(after).toMatchObject({ cache: "miss", response: { content: "recovered" } })
    })))

  it.effect("when every waiter is interrupted the upstream call is interrupted too", () =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* build()
      let interrupted = false
      const slow = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      const k = cache.key(req, ctx)
      const fiber = yield* crowd(3, cache.getOrCompute(k, slow))
      yield* Fiber.interrupt(fiber)
      expect(interrupted).toBe(true)
      // the key is free again: the next caller starts a new upstream call
      expect((yield* cache.getOrCompute(k, Effect.succeed(response("new")))).cache).toBe("miss")
    })))
})

describe("CacheService L2", () => {
  it.effect("two instances sharing an L2 see each other's entries; an L2 hit fills L1", () =>
    Effect.scoped(Effect.gen(function*() {
      const shared = makeMemory()
      let reachable = true
      const l2: CacheL2Shape = {
        get: (k) => reachable ? shared.get(k) : Effect.fail(new CacheL2Error({ message: "down" })),
        set: (k, v, ttl) => reachable ? shared.set(k, v, ttl) : Effect.fail(new CacheL2Error({ message: "down" }))
      }
      const a = yield* build(config(), l2)
      const b = yield* build(config(), l2)
      const up = upstream()
      const k = a.key(req, ctx)
      yield* a.getOrCompute(k, up.compute)
      yield* Effect.yieldNow // the L2 write runs off the response path
      const fromB = yield* b.getOrCompute(k, up.compute)
      expect(fromB).toMatchObject({ cache: "hit", response: { content: "answer #1", cached: true } })
      reachable = false
      expect((yield* b.getOrCompute(k, up.compute)).cache).toBe("hit") // from B's L1 now
      expect(up.calls()).toBe(1)
      expect((yield* b.stats).l2Errors).toBe(0)
    })))

  it.effect("an L2 hit fills L1 only for the rest of the entry's TTL", () =>
    Effect.scoped(Effect.gen(function*() {
      const l2 = makeMemory()
      const a = yield* build(config({ ttlSeconds: 100 }), l2)
      const k = a.key(req, ctx)
      yield* a.getOrCompute(k, Effect.succeed(response("x")))
      yield* Effect.yieldNow
      yield* TestClock.adjust("60 seconds")
      const b = yield* build(config({ ttlSeconds: 100 }), l2)
      expect((yield* b.getOrCompute(k, Effect.succeed(response("y")))).cache).toBe("hit")
      yield* TestClock.adjust("40 seconds")
      expect((yield* b.getOrCompute(k, Effect.succeed(response("y")))).cache).toBe("miss")
    })))

  it.effect("a hanging L2 is cut off by the timeout, counted, logged once, and retried later", () => {
    const logs = captureLogs()
    return Effect.scoped(Effect.gen(function*() {
      let l2Calls = 0
      let hang = true
      const l2: CacheL2Shape = {
        get: () => Effect.suspend(() => (l2Calls++, hang ? Effect.never : Effect.succeed(undefined))),
        set: () => Effect.void
      }
      const cache = yield* build(config(), l2)
      const up = upstream()
      const call = (p: string) => cache.getOrCompute(cache.key({ prompt: p }, ctx), up.compute)
      const first = yield* Effect.forkChild(call("one"))
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(first)).cache).toBe("miss")
      // within the retry window the L2 is not asked at all
      yield* call("two")
      yield* call("three")
      expect(l2Calls).toBe(1)
      yield* TestClock.adjust("1 second")
      const fourth = yield* Effect.forkChild(call("four"))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(fourth)
      expect(l2Calls).toBe(2)
      expect(yield* cache.stats).toMatchObject({ l2Errors: 2, l2Available: false })
      expect((yield* Metric.value(cacheL2ErrorsTotal)).count).toBe(2)
      const warnings = logs.lines.filter((l) => l.level === "Warn" && l.message.includes("cache L2 unavailable"))
      expect(warnings).toHaveLength(1)
      hang = false
      yield* TestClock.adjust("1 second")
      yield* call("five")
      expect(yield* cache.stats).toMatchObject({ l2Errors: 2, l2Available: true })
      expect(logs.lines.filter((l) => l.message.includes("cache L2 available again"))).toHaveLength(1)
      expect(up.calls()).toBe(5)
    })).pipe(Effect.provide(logs.layer), Effect.provideService(Metric.MetricRegistry, new Map()))
  })

  it.effect("layer picks up a CacheL2 from context; layerMemory ignores it", () =>
    Effect.gen(function*() {
      const withL2 = yield* Effect.provide(CacheService.use(Effect.succeed), CacheService.layer(config()).pipe(Layer.provide(CacheL2.layerMemory), Layer.provide(Embedder.layerNone)))
      const memoryOnly = yield* Effect.provide(CacheService.use(Effect.succeed), CacheService.layerMemory(config()).pipe(Layer.provide(CacheL2.layerMemory)))
      expect((yield* withL2.stats).l2Available).toBe(true)
      expect((yield* memoryOnly.stats).l2Available).toBe(false)
    }))
})

describe("replayAsStream", () => {
  it.effect("replays a cached answer as a few chunks ending with usage and finish reason", () =>
    Effect.gen(function*() {
      const content = "The CPU usage is 45 percent across all nodes, with no anomalies in the last hour of metrics."
      const chunks = Array.from(yield* Stream.runCollect(CacheService.replayAsStream({ ...response(content), cached: true })))
      expect(chunks.length).toBeGreaterThan(2)
      expect(chunks.length).toBeLessThanOrEqual(10)
      expect(chunks.map((c) => c.delta).join("")).toBe(content)
      const last = chunks[chunks.length - 1]
      expect(last).toMatchObject({ usage: makeUsage(3, 5), finishReason: "stop", cached: true, provider: "openai", model: "gpt-4o-mini" })
      expect(chunks.slice(0, -1).every((c) => c.usage === undefined && c.finishReason === undefined)).toBe(true)
      // words are not cut in half
      expect(chunks.slice(0, -2).every((c) => /\s$/.test(c.delta))).toBe(true)
      const empty = Array.from(yield* Stream.runCollect(CacheService.replayAsStream(response(""))))
      expect(empty).toHaveLength(1)
      expect(empty[0]).toMatchObject({ delta: "", finishReason: "stop", cached: true })
    }))
})
