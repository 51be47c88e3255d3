import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CacheService, defaultConfig, makeWith } from "../src/cache/CacheService.ts"
import type { CacheConfig } from "../src/config/ConfigSchema.ts"
import { type LLMResponse, makeUsage } from "../src/domain/Domain.ts"
import { CacheL2 } from "../src/cache/CacheL2.ts"
import { Embedder, type EmbedderShape } from "../src/cache/Embedder.ts"
import { ModelUnavailable } from "../src/domain/LLMError.ts"

const response = (content: string): LLMResponse => ({
  content,
  provider: "ollama",
  model: "llama3.2",
  usage: makeUsage(4, 6),
  costUsd: 0,
  latencyMs: 30,
  cached: false,
  finishReason: "stop",
  attempts: []
})

/**
 * A deterministic embedder: a bag of words over a fixed vocabulary (unknown words land in
 * one extra dimension). Texts sharing most words are close, unrelated texts are far apart.
 */
const VOCAB = ["what", "is", "the", "cpu", "usage", "current", "memory", "disk", "free", "space", "now"]
const fakeEmbedder = () => {
  let calls = 0
  const shape: EmbedderShape = {
    embed: (texts) =>
      Effect.sync(() => {
        calls++
        return texts.map((t) => {
          const v = new Array(VOCAB.length + 1).fill(0)
          for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
            const i = VOCAB.indexOf(w)
            v[i === -1 ? VOCAB.length : i] += 1
          }
          return v
        })
      })
  }
  return { shape, calls: () => calls }
}

const semanticConfig = (threshold = 0.85): CacheConfig => ({ ...defaultConfig, semantic: { enabled: true, threshold } })

const ctx = (scope = "tenant-a") => ({ scope, candidates: ["ollama/llama3.2"] })

describe("CacheService semantic cache", () => {
  it.effect("returns a cached answer for a similar question in the same scope and task", () =>
    Effect.scoped(Effect.gen(function*() {
      const embedder = fakeEmbedder()
      const cache = yield* makeWith(semanticConfig(), { l2: undefined, embedder: embedder.shape })
      const ask = (text: string, scope = "tenant-a", task = "analysis", content = "computed") =>
        cache.getOrCompute(cache.key({ prompt: text, taskType: task }, ctx(scope)), Effect.succeed(response(content)), {
          semantic: { text, scope, task }
        })

      const first = yield* ask("What is the CPU usage?", "tenant-a", "analysis", "45%")
      expect(first.cache).toBe("miss")
      // cosine("what is the cpu usage", "what is the current cpu usage") ≈ 0.89 ≥ 0.85
      const similar = yield* ask("What is the current CPU usage?")
      expect(similar).toMatchObject({ cache: "hit", response: { content: "45%", cached: true } })
      // below the threshold: a different question
      expect((yield* ask("How much free disk space now?")).cache).toBe("miss")
      // same text, other tenant or other task: never shared
      expect((yield* ask("What is the current CPU usage?", "tenant-b")).cache).toBe("miss")
      expect((yield* ask("What is the current CPU usage?", "tenant-a", "general")).cache).toBe("miss")
    })))

  it.effect("checks the exact cache first (no embedding on an exact hit)", () =>
    Effect.scoped(Effect.gen(function*() {
      const embedder = fakeEmbedder()
      const cache = yield* makeWith(semanticConfig(), { l2: undefined, embedder: embedder.shape })
      const text = "What is the CPU usage?"
      const k = cache.key({ prompt: text }, ctx())
      const semantic = { text, scope: "tenant-a", task: "general" }
      yield* cache.getOrCompute(k, Effect.succeed(response("45%")), { semantic })
      const callsAfterMiss = embedder.calls()
      expect((yield* cache.getOrCompute(k, Effect.succeed(response("other")), { semantic })).cache).toBe("hit")
      expect(embedder.calls()).toBe(callsAfterMiss)
    })))

  it.effect("is off unless cache.semantic.enabled, and an embedder failure only disables it for that call", () =>
    Effect.scoped(Effect.gen(function*() {
      const embedder = fakeEmbedder()
      const off = yield* makeWith(defaultConfig, { l2: undefined, embedder: embedder.shape })
      const semantic = (text: string) => ({ semantic: { text, scope: "s", task: "t" } })
      yield* off.getOrCompute("k1", Effect.succeed(response("a")), semantic("What is the CPU usage?"))
      expect((yield* off.getOrCompute("k2", Effect.succeed(response("b")), semantic("What is the CPU usage?"))).cache).toBe("miss")
      expect(embedder.calls()).toBe(0)

      const failing = yield* makeWith(semanticConfig(), {
        l2: undefined,
        embedder: { embed: () => Effect.fail(new ModelUnavailable({ model: "ollama/nomic-embed-text", message: "down" })) }
      })
      const r = yield* failing.getOrCompute("k3", Effect.succeed(response("c")), semantic("What is the CPU usage?"))
      expect(r).toMatchObject({ cache: "miss", response: { content: "c" } })
    })))

  it.effect("CacheService.layer wires an Embedder from context", () =>
    Effect.gen(function*() {
      const embedder = fakeEmbedder()
      const layer = CacheService.layer(semanticConfig()).pipe(Layer.provide(Embedder.layerFrom(embedder.shape.embed)), Layer.provide(CacheL2.layerNone))
      yield* Effect.gen(function*() {
        const cache = yield* CacheService
        const semantic = (text: string) => ({ semantic: { text, scope: "s", task: "t" } })
        yield* cache.getOrCompute("k1", Effect.succeed(response("a")), semantic("What is the CPU usage?"))
        const r = yield* cache.getOrCompute("k2", Effect.succeed(response("b")), semantic("what is the cpu usage"))
        expect(r).toMatchObject({ cache: "hit", response: { content: "a" } })
      }).pipe(Effect.provide(layer))
    }))
})
