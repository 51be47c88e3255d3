/**
 * Each provider's `make` and client read the entry type its definition declares
 * (`ProviderEntry<type, configFields>`), not one wide type with every provider's fields. The
 * `@ts-expect-error` lines are the assertions the typecheck makes: should a field of another
 * provider type become readable in a client again, the typecheck fails here.
 */
import { describe, expect, it } from "@effect/vitest"
import type { AnthropicConfig } from "@llm-gateway/anthropic/AnthropicProvider"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { LlamaCppConfig } from "@llm-gateway/llamacpp/LlamaCppConfig"
import type { OllamaConfig } from "@llm-gateway/ollama/OllamaProvider"
import type { OpenAIWireConfig } from "@llm-gateway/openai/OpenAIProvider"
import { Effect, Schema } from "effect"
import { defineProvider, lazyMake, makeLLMManager } from "../src/index.ts"

/** What each built-in client may read beyond the common fields; never called, only typechecked. */
export const ownFieldsOnly = {
  anthropic: (c: AnthropicConfig) => [
    c.apiKey,
    // @ts-expect-error llama.cpp's field is not an Anthropic entry's
    c.modelPath
  ],
  ollama: (c: OllamaConfig) => [
    c.baseUrl,
    // @ts-expect-error Azure's field is not an Ollama entry's
    c.apiVersion
  ],
  openai: (c: OpenAIWireConfig) => [
    c.type === "azure-openai" ? c.deployment : undefined,
    // @ts-expect-error only an azure-openai entry has a deployment
    c.deployment,
    // @ts-expect-error llama.cpp's field is not an OpenAI-wire entry's
    c.threads
  ],
  llamacpp: (c: LlamaCppConfig) => [
    c.modelPath,
    // @ts-expect-error Azure's field is not a llama.cpp entry's
    c.apiVersion
  ]
}

/** A `lazyMake` callback's `config` is the definition's entry type too, without an annotation. */
export const lazyAcme = defineProvider({
  type: "acme-lazy",
  make: lazyMake(() => import("@llm-gateway/openai/OpenAIClient"), (m, config) => {
    const type: "acme-lazy" = config.type
    return m.makeOpenAIClient({ ...config, type: type === "acme-lazy" ? "openai-compatible" : "openai" })
  })
})

const acmeProvider = defineProvider({
  type: "acme",
  configFields: { region: Schema.NonEmptyString },
  // `config.region` is a string here; `config.deployment` would not compile
  make: (config) => Effect.fail(new ConfigurationError({ message: `acme in ${config.region} is closed`, path: "providers.acme" }))
})

describe("a definition's own entry fields", () => {
  it.live("reach its make from the config file, decoded by its schema", () =>
    Effect.gen(function*() {
      const config = { providers: [{ name: "acme", type: "acme", region: "eu-1", models: [{ id: "a-1" }] }], cache: { enabled: false } }
      const error = yield* Effect.flip(Effect.scoped(makeLLMManager(config as never, { providers: [acmeProvider] })))
      expect(error).toMatchObject({ _tag: "ConfigurationError", message: "acme in eu-1 is closed" })
    }))

  it.live("a field another type declares is an unknown key on this type's entry", () =>
    Effect.gen(function*() {
      const config = { providers: [{ name: "acme", type: "acme", region: "eu-1", deployment: "d", models: [{ id: "a-1" }] }] }
      const error = yield* Effect.flip(Effect.scoped(makeLLMManager(config as never, { providers: [acmeProvider] })))
      expect(error).toMatchObject({ _tag: "ConfigurationError" })
      expect(`${error.message} ${"path" in error ? error.path : ""}`).toMatch(/deployment/)
    }))
})
