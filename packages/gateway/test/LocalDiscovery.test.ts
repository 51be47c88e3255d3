import { describe, expect, it } from "@effect/vitest"
import { startFakeOllama } from "@llm-gateway/testing/FakeOllama"
import { Effect } from "effect"
import { freePort } from "@llm-gateway/testing/services/ports"
import { makeLLMManager } from "../src/index.ts"
import { discoverLocalProviders } from "../src/LocalDiscovery.ts"
import { loadGatewayConfig } from "../src/GatewayLayer.ts"

describe("local discovery (pnpm start's embedded defaults)", () => {
  it.live("a local Ollama that answers joins with its models; a closed port is skipped quickly", () =>
    Effect.gen(function*() {
      const ollama = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeOllama({ reply: "local answer", models: ["llama3.2"] })),
        (f) => Effect.promise(() => f.close())
      )
      const closed = yield* Effect.promise(() => freePort())
      const base = yield* loadGatewayConfig({ env: {}, config: { conversations: { store: "memory" } } })
      const started = Date.now()
      const config = yield* discoverLocalProviders(base, {
        endpoints: [
          { name: "ollama", type: "ollama", url: ollama.url },
          { name: "lmstudio", type: "lmstudio", url: `http://127.0.0.1:${closed}/v1` }
        ]
      })
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(config.providers.map((p) => [p.name, p.type, p.models.map((m) => m.id)])).toEqual([["ollama", "ollama", ["llama3.2"]]])

      const manager = yield* makeLLMManager({
        providers: config.providers.map((p) => ({ name: p.name, type: p.type, baseUrl: p.baseUrl, models: [{ id: "llama3.2" }] })),
        conversations: { store: "memory" }
      })
      const answer = yield* manager.generate({ prompt: "hi", taskType: "general" })
      expect([answer.provider, answer.model, answer.content, answer.costUsd]).toEqual(["ollama", "llama3.2", "local answer", 0])
    }).pipe(Effect.scoped))

  it.live("a configured provider of the same type is left alone", () =>
    Effect.gen(function*() {
      const base = yield* loadGatewayConfig({
        env: {},
        config: { providers: [{ name: "mine", type: "ollama", baseUrl: "http://127.0.0.1:9/", models: [{ id: "x" }] }], conversations: { store: "memory" } }
      })
      const config = yield* discoverLocalProviders(base, { endpoints: [{ name: "ollama", type: "ollama", url: "http://127.0.0.1:9" }] })
      expect(config.providers.map((p) => p.name)).toEqual(["mine"])
    }))
})
