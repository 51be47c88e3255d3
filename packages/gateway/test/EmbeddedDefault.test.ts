import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { embeddedModelPath } from "../src/EmbeddedDefault.ts"
import { resolveGatewayConfig } from "../src/GatewayLayer.ts"
import { createDefaultLLMManager } from "../src/index.ts"

const providersOf = (env: Record<string, string>) =>
  Effect.map(resolveGatewayConfig({ env }), (c) => c.providers.map((p) => ({ name: p.name, type: p.type, modelPath: p.modelPath })))

describe("embedded default model", () => {
  it.effect("with no provider configured, the repository's GGUF is provider local, on one thread", () =>
    Effect.gen(function*() {
      const config = yield* resolveGatewayConfig({ env: {} })
      expect(config.providers).toHaveLength(1)
      const local = config.providers[0]
      expect([local.name, local.type, local.modelPath, local.threads]).toEqual(["local", "llamacpp", embeddedModelPath, 1])
      expect(local.models.map((m) => m.id)).toEqual(["stories260K"])
      expect(embeddedModelPath.endsWith("/models/stories260K.gguf")).toBe(true)
    }))

  it.effect("LLM_LOCAL_MODEL_PATH or any other provider replaces it", () =>
    Effect.gen(function*() {
      expect(yield* providersOf({ LLM_LOCAL_MODEL_PATH: "/models/mine.gguf" })).toEqual([
        { name: "local", type: "llamacpp", modelPath: "/models/mine.gguf" }
      ])
      expect((yield* providersOf({ OPENAI_API_KEY: "sk-test" })).map((p) => p.name)).toEqual(["openai"])
    }))

  it.effect("LLM_EMBEDDED_DEFAULT=false turns it off; a value that is not a boolean names the variable", () =>
    Effect.gen(function*() {
      expect(yield* providersOf({ LLM_EMBEDDED_DEFAULT: "false" })).toEqual([])
      expect(yield* providersOf({ LLM_EMBEDDED_DEFAULT: "off" })).toEqual([])
      expect(yield* providersOf({ LLM_EMBEDDED_DEFAULT: "true" })).toHaveLength(1)
      const error = yield* Effect.flip(providersOf({ LLM_EMBEDDED_DEFAULT: "maybe" }))
      expect([error._tag, error.path]).toEqual(["ConfigurationError", "LLM_EMBEDDED_DEFAULT"])
    }))

  it.effect("an explicit config (makeLLMManager) is taken as written: no embedded default", () =>
    Effect.gen(function*() {
      const config = yield* resolveGatewayConfig({ env: {}, config: { conversations: { store: "memory" } } })
      expect(config.providers).toEqual([])
    }))

  it("createDefaultLLMManager with nothing configured answers from the tiny model, offline", async () => {
    const manager = createDefaultLLMManager({ env: { LLM_CONVERSATIONS_STORE: "memory" } })
    try {
      const r = await Effect.runPromise(manager.generate({ prompt: "Once upon a time", preferences: { maxTokens: 24 } }))
      expect([r.provider, r.model]).toEqual(["local", "stories260K"])
      expect(r.content.trim().length).toBeGreaterThan(0)
      expect(r.usage.completionTokens).toBeGreaterThan(0)
    } finally {
      await manager.dispose()
    }
  })

  it("with no model at all, generate fails with a non-retryable ModelUnavailable saying what to set", async () => {
    const manager = createDefaultLLMManager({ env: { LLM_EMBEDDED_DEFAULT: "false", LLM_CONVERSATIONS_STORE: "memory" } })
    try {
      const error = await Effect.runPromise(Effect.flip(manager.generate({ prompt: "hi" })))
      expect(error._tag).toBe("ModelUnavailable")
      expect(error._tag === "ModelUnavailable" && [error.status, error.isRetryable]).toEqual([503, false])
      expect(error.message).toContain("OPENAI_API_KEY")
      expect(error.message).toContain("LLM_LOCAL_MODEL_PATH")
    } finally {
      await manager.dispose()
    }
  })
})
