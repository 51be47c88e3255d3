import type { LlamaCppConfig } from "../src/LlamaCppConfig.ts"
import type { ProviderRequest } from "@llm-gateway/core/domain/Domain"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { type LlamaCppClientOptions, makeLlamaCppClient } from "../src/LlamaCppClient.ts"
import { loadModel } from "../src/internal/loadModel.ts"

/** The real 1.1 MB TinyStories model the repository carries (models/README.md: licence, source). */
export const MODEL_PATH = fileURLToPath(new URL("../../../models/stories260K.gguf", import.meta.url))
export const MODEL = "stories260K"
export const PROMPT = "Once upon a time"

export const providerConfig = (extra: Partial<LlamaCppConfig> = {}): LlamaCppConfig => ({
  name: "local",
  type: "llamacpp",
  modelPath: MODEL_PATH,
  // One thread: more threads than free cores makes llama.cpp orders of magnitude slower.
  threads: 1,
  models: [{ id: MODEL }],
  ...extra
})

export const request = (extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: MODEL,
  messages: [{ role: "user", content: PROMPT }],
  ...extra
})

/** A client on the real model, closed with the test's scope. */
export const setup = (extra: Partial<LlamaCppConfig> = {}, options?: LlamaCppClientOptions) =>
  makeLlamaCppClient(providerConfig(extra), options)

/** The model itself, loaded on its own, for its tokenizer: the reference for exact usage. */
export const referenceModel = Effect.map(
  loadModel({ provider: "reference", modelPath: MODEL_PATH, contextLength: 256, threads: 1, gpu: false, contexts: 1 }),
  (loaded) => loaded.model
)

/** Wall-clock milliseconds an effect takes. */
export const elapsed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const a = yield* self
    return [performance.now() - start, a] as const
  })
