/**
 * Properties of the exact-cache key: a cached answer is shared only between requests that the
 * same models would answer in the same precedence (a named model first, else any candidate), and
 * canonical JSON neither depends on key order nor overflows the stack on deep caller input.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { LLMRequest } from "@llm-gateway/core/domain/Domain"
import { cacheKey, canonicalJson } from "../src/cache/internal/key.ts"

const POOL = [
  "anthropic/claude-3-haiku-20240307",
  "compat/mixtral-8x7b",
  "ollama/llama3.2:latest",
  "openai/gpt-4o",
  "openai/gpt-4o-mini",
  "z/last"
] as const

/** A request as the key sees it: an optional named model and the planner's candidates, in any order. */
const routed = fc.record({
  named: fc.option(fc.constantFrom(...POOL), { nil: undefined }),
  auto: fc.constantFrom<"auto" | "" | undefined>("auto", "", undefined),
  candidates: fc.shuffledSubarray([...POOL], { minLength: 1 })
})
type Routed = typeof routed extends fc.Arbitrary<infer A> ? A : never

const keyOf = (r: Routed): string => {
  const req: LLMRequest = { prompt: "same prompt", model: r.named ?? r.auto }
  return cacheKey(req, "default", r.candidates)
}

/**
 * Who can answer, and in which precedence: the named model whenever it can (when it is a
 * candidate at all), then any other candidate; for `auto` any candidate, in an order the key
 * must not rely on.
 */
const answerers = (r: Routed) => ({
  first: r.named ?? null,
  others: [...r.candidates].sort()
})

describe("cache key", () => {
  it("two requests share a key only if the same models would answer them in the same precedence", () => {
    fc.assert(
      fc.property(routed, routed, (a, b) => {
        if (keyOf(a) === keyOf(b)) expect(answerers(a)).toEqual(answerers(b))
      }),
      { numRuns: 2000 }
    )
  })

  it("requests the same models would answer alike share a key (reordered candidates, auto spelled any way)", () => {
    fc.assert(
      fc.property(routed, fc.integer({ min: 0, max: 1_000 }), (a, seed) => {
        const rotated = a.candidates.map((_, i) => a.candidates[(i + seed) % a.candidates.length])
        const b: Routed = { ...a, auto: (["auto", "", undefined] as const)[seed % 3], candidates: rotated }
        expect(keyOf(b)).toBe(keyOf(a))
      })
    )
  })

  it("a named model never reads the entry that `auto` wrote with the same candidates (the v3 collision)", () => {
    const candidates = ["compat/mixtral-8x7b", "anthropic/claude-3-haiku-20240307"]
    const auto = cacheKey({ prompt: "p", model: "auto" }, "default", candidates)
    const named = cacheKey({ prompt: "p", model: "anthropic/claude-3-haiku-20240307" }, "default", [...candidates].reverse())
    expect(named).not.toBe(auto)
  })
})

describe("canonicalJson", () => {
  it("matches the recursive definition (keys sorted at every depth, undefined members dropped)", () => {
    // The plain recursive version, as the oracle (fine for fast-check's shallow values).
    const recursive = (v: unknown): string => {
      if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null"
      if (Array.isArray(v)) return `[${v.map(recursive).join(",")}]`
      const o = v as Record<string, unknown>
      const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort()
      return `{${keys.map((k) => `${JSON.stringify(k)}:${recursive(o[k])}`).join(",")}}`
    }
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.object({ values: [fc.constant(undefined), fc.constant(null), fc.integer(), fc.string()] })), (v) => {
        expect(canonicalJson(v)).toBe(recursive(v))
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v) ?? "null"))
      })
    )
  })

  it("handles 50,000 levels of nesting without a stack overflow", () => {
    let deep: unknown = { leaf: true }
    for (let i = 0; i < 50_000 - 1; i++) deep = i % 2 === 0 ? { properties: deep } : [deep]
    const text = canonicalJson(deep)
    expect(text.startsWith("{\"properties\":[{\"properties\":[")).toBe(true)
    expect(text.length).toBeGreaterThan(300_000)
  })
})
