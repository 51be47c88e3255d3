/**
 * Provider entries are a union keyed by `type`, one member per definition: the common fields
 * plus the definition's own `configFields`. A field of another type is an unknown key; a
 * plug-in's own fields validate with its schema; a type no definition declares is still
 * reported at `providers[i].type` with the accepted names.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { loadConfig } from "../src/config/LLMConfig.ts"
import type { ProviderSpec } from "../src/config/ProviderSpec.ts"
import { builtinProviders } from "./builtinDefinitions.ts"

/** A plug-in with a field of its own: the region its API is served from. */
const acme: ProviderSpec = {
  type: "acme",
  family: "local",
  configFields: { region: Schema.optional(Schema.Literals(["eu", "us"])) }
}

const load = (...providers: ReadonlyArray<Record<string, unknown>>) =>
  loadConfig({
    input: { providers: providers as never, conversations: { store: "memory" } },
    mergeEnv: false,
    env: {},
    providers: [...builtinProviders, acme]
  })

describe("provider entries: a union of the definitions' schemas, keyed by type", () => {
  it.effect("a type's own fields are accepted on it (Azure's apiVersion, llama.cpp's threads)", () =>
    Effect.gen(function*() {
      const config = yield* load(
        { name: "az", type: "azure-openai", baseUrl: "https://r.openai.azure.com", apiVersion: "2024-10-21", deployment: "d", models: [] },
        { name: "local", type: "llamacpp", modelPath: "/m.gguf", threads: 2, contextLength: 2048, models: [] }
      )
      expect(config.providers.map((p) => [p.apiVersion, p.deployment, p.threads, p.contextLength])).toEqual([
        ["2024-10-21", "d", undefined, undefined],
        [undefined, undefined, 2, 2048]
      ])
    }))

  it.effect("another type's field is an unknown key at its path", () =>
    Effect.gen(function*() {
      const onOpenAI = yield* Effect.flip(load({ name: "openai", type: "openai", apiVersion: "2024-10-21" }))
      expect([onOpenAI.path, onOpenAI.message]).toEqual(["providers[0].apiVersion", "unknown key"])
      const onOllama = yield* Effect.flip(load({ name: "o", type: "ollama", baseUrl: "http://127.0.0.1:11434", threads: 4 }))
      expect(onOllama.path).toBe("providers[0].threads")
      expect(onOllama.message).toMatch(/^unknown key/)
    }))

  it.effect("a plug-in's own field validates with its schema, and is unknown on other types", () =>
    Effect.gen(function*() {
      const config = yield* load({ name: "acme", type: "acme", region: "eu" })
      expect((config.providers[0] as unknown as { region: string }).region).toBe("eu")
      const bad = yield* Effect.flip(load({ name: "acme", type: "acme", region: "mars" }))
      expect(bad.path).toBe("providers[0].region")
      expect(bad.message).toContain('"eu" | "us"')
      const elsewhere = yield* Effect.flip(load({ name: "openai", type: "openai", region: "eu" }))
      expect([elsewhere.path, elsewhere.message]).toEqual(["providers[0].region", "unknown key"])
    }))

  it.effect("a type no definition declares, or none, is reported at providers[i].type", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(load({ name: "a", type: "ollama", baseUrl: "http://127.0.0.1:11434" }, { name: "b", type: "foo" }))
      expect(unknown.path).toBe("providers[1].type")
      expect(unknown.message).toContain('"acme"')
      expect(unknown.message).toContain('got "foo"')
      const missing = yield* Effect.flip(load({ name: "a" }))
      expect([missing.path, missing.message]).toEqual(["providers[0].type", "is required"])
    }))
})
