/**
 * Cost: prompt-cache tokens at their own rates, one rounding for every figure, catalog
 * defaults for cache rates.
 */
import fc from "fast-check"
import { builtinProviders, rowsOf } from "./builtinDefinitions.ts"
import { describe, expect, it } from "vitest"
import { makeUsage } from "@llm-gateway/core/domain/Domain"
import * as ModelCatalog from "@llm-gateway/core/config/ModelCatalog"
import { costOfTokens, costOfUsage, roundUsd } from "@llm-gateway/core/accounting/Pricing"

const haiku = ModelCatalog.lookup("claude-3-haiku-20240307", builtinProviders)!
const gpt4o = ModelCatalog.lookup("gpt-4o", builtinProviders)!

describe("costOfUsage", () => {
  it("bills Anthropic cache reads at 0.1x-ish and writes at 1.25x the input price, not as full input", () => {
    // 1,000 fresh + 8,000 read + 1,000 written prompt tokens, 100 out, claude-3-haiku
    const usage = makeUsage(10_000, 100, { cachedPromptTokens: 8_000, cacheWriteTokens: 1_000 })
    const expected = (1_000 * 0.25 + 8_000 * 0.03 + 1_000 * 0.3 + 100 * 1.25) / 1e6
    expect(costOfUsage(haiku, usage)).toBe(roundUsd(expected))
    expect(costOfUsage(haiku, usage)).toBe(0.000915)
    // the old bill (all 10,000 at the input price) was 0.002625
    expect(costOfUsage(haiku, usage)).toBeLessThan(costOfTokens(haiku, 10_000, 100))
  })

  it("bills OpenAI cached tokens at the model's cached rate (gpt-4o: 50% of input)", () => {
    const usage = makeUsage(2_000, 10, { cachedPromptTokens: 1_024, reasoningTokens: 4 })
    expect(costOfUsage(gpt4o, usage)).toBe(roundUsd((976 * 2.5 + 1_024 * 1.25 + 10 * 10) / 1e6))
  })

  it("a model without cache rates bills cached tokens at the input price", () => {
    const prices = { inputCostPer1M: 1, outputCostPer1M: 2 }
    expect(costOfUsage(prices, makeUsage(100, 10, { cachedPromptTokens: 60, cacheWriteTokens: 10 }))).toBe(costOfTokens(prices, 100, 10))
  })

  it("a request of a few tokens still costs more than 0", () => {
    expect(costOfUsage({ inputCostPer1M: 0.02, outputCostPer1M: 0 }, makeUsage(1, 0))).toBe(2e-8)
  })
})

describe("roundUsd", () => {
  it("every computed cost is on the 1e-10 grid with at most 12 significant digits", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 200, noNaN: true }),
        (prompt, completion, input, output) => {
          const cost = costOfUsage({ inputCostPer1M: input, outputCostPer1M: output }, makeUsage(prompt, completion))
          expect(Number(cost.toPrecision(12))).toBe(cost)
          expect(Math.round(cost * 1e10) / 1e10).toBe(cost)
          // printed without binary noise such as 0.000005999999999999999
          expect(String(cost).replace(/^0\.0*|\.|e.*$/g, "").length).toBeLessThanOrEqual(12)
        }
      )
    )
  })

  it("fixes the float noise of sums", () => {
    expect(roundUsd(0.1 + 0.2)).toBe(0.3)
    expect(roundUsd(3 * 0.000002)).toBe(0.000006)
    expect(roundUsd(123456.123456789)).toBe(123456.123457)
  })
})

describe("catalog cache rates", () => {
  it("has cached / cache-write rates for known models and none for models without prompt caching", () => {
    expect(gpt4o).toMatchObject({ inputCostPer1M: 2.5, cachedInputCostPer1M: 1.25 })
    expect(ModelCatalog.lookup("gpt-4o-mini", builtinProviders)).toMatchObject({ cachedInputCostPer1M: 0.075 })
    expect(ModelCatalog.lookup("gpt-5", builtinProviders)).toMatchObject({ cachedInputCostPer1M: 0.125 })
    expect(ModelCatalog.lookup("claude-sonnet-4-5", builtinProviders)).toMatchObject({ cachedInputCostPer1M: 0.3, cacheWriteCostPer1M: 3.75 })
    expect(haiku).toMatchObject({ cachedInputCostPer1M: 0.03, cacheWriteCostPer1M: 0.3 })
    expect(ModelCatalog.lookup("gpt-3.5-turbo", builtinProviders)?.cachedInputCostPer1M).toBeUndefined()
  })

  it("a config's own input price scales the catalog's cache rates; its own cache rates win", () => {
    expect(ModelCatalog.enrich({ id: "claude-sonnet-4-5", inputCostPer1M: 1.5 }, rowsOf("anthropic")))
      .toMatchObject({ inputCostPer1M: 1.5, cachedInputCostPer1M: 0.15, cacheWriteCostPer1M: 1.875 })
    expect(ModelCatalog.enrich({ id: "gpt-4o", cachedInputCostPer1M: 2 }, rowsOf("openai"))).toMatchObject({ inputCostPer1M: 2.5, cachedInputCostPer1M: 2 })
  })
})
