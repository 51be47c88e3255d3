/**
 * Deep caller JSON is a typed InvalidRequest naming the field, never a stack overflow: the
 * iterative depth walk, and `LLMManager.generate` refusing a library caller's deep schema
 * before anything recurses over it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Scripted } from "@llm-gateway/testing/ScriptedModelClient"
import { Effect, Layer } from "effect"
import { CacheService } from "../src/cache/CacheService.ts"
import { ConversationStorage } from "../src/conversations/ConversationStorage.ts"
import { findTooDeep, MAX_JSON_DEPTH, tooDeepError } from "../src/domain/JsonDepth.ts"
import { LLMManager, make } from "../src/manager/LLMManager.ts"
import { ModelRouter } from "../src/routing/ModelRouter.ts"
import { UsageAccounting } from "../src/accounting/UsageAccounting.ts"
import { gatewayConfig, makeRouter, provider, scripted } from "./router/fixtures.ts"

/** `{"type":"object","properties":{"a":{…}}}`, `levels` schemas deep. */
const deepSchema = (levels: number): Record<string, unknown> => {
  let schema: Record<string, unknown> = { type: "string" }
  for (let i = 0; i < levels; i++) schema = { type: "object", properties: { a: schema } }
  return schema
}

describe("findTooDeep", () => {
  it("finds the first too-deep container and its path, iteratively (100,000 levels)", () => {
    let deep: unknown = []
    for (let i = 0; i < 100_000; i++) deep = [deep]
    const path = findTooDeep({ ok: { fine: [1, 2] }, bad: deep })
    expect(path?.slice(0, 3)).toEqual(["bad", 0, 0])
    expect(path?.length).toBe(MAX_JSON_DEPTH)
    expect(tooDeepError(path!).param).toBe("bad[0][0]")
  })

  it("accepts what real requests look like, up to the limit", () => {
    expect(findTooDeep({ messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] })).toBeUndefined()
    // 64 containers deep exactly: fine; one more: too deep
    let v: unknown = {}
    for (let i = 1; i < MAX_JSON_DEPTH; i++) v = { v }
    expect(findTooDeep(v)).toBeUndefined()
    expect(findTooDeep({ v })).toHaveLength(MAX_JSON_DEPTH)
  })
})

const makeManager = Effect.gen(function*() {
  const config = gatewayConfig([provider("openai", "openai", ["gpt-4o-mini"])], { fallbackOrder: ["openai/gpt-4o-mini"] })
  const cacheConfig = { ...config.cache, enabled: true }
  const { layer: clients } = scripted([{ provider: "openai", script: [Scripted.ok("{}")] }])
  const router = yield* makeRouter({ ...config, cache: cacheConfig }, clients)
  const services = yield* Layer.build(Layer.mergeAll(
    Layer.succeed(ModelRouter, router),
    CacheService.layerMemory(cacheConfig),
    ConversationStorage.layerMemory(),
    UsageAccounting.layerMemory
  ))
  return yield* Effect.provide(make, services) as Effect.Effect<LLMManager["Service"]>
})

describe("LLMManager with deep caller JSON", () => {
  it.effect("a 5,000-level responseFormat.schema is an InvalidRequest naming the field", () =>
    Effect.scoped(Effect.gen(function*() {
      const manager = yield* makeManager
      const error = yield* Effect.flip(manager.generate({
        prompt: "answer in JSON",
        responseFormat: { type: "json_schema", name: "deep", schema: deepSchema(5_000) }
      }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error).toMatchObject({ param: "responseFormat.schema.properties" })
      expect(error.message).toContain(`more than ${MAX_JSON_DEPTH} levels deep`)
      // a schema of ordinary depth still works
      const ok = yield* manager.generate({ prompt: "answer in JSON", responseFormat: { type: "json_schema", name: "ok", schema: deepSchema(5) } })
      expect(ok.content).toBe("{}")
    })))
})
