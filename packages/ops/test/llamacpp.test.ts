/**
 * The ops task end to end on the embedded llama.cpp model a fresh clone carries
 * (models/stories260K.gguf): the classifier's JSON schema becomes a grammar, so even this tiny
 * story model answers with a well-formed classification. Shape only: the model knows nothing
 * about alerts.
 */
import { describe, expect, it } from "@effect/vitest"
import { gatewayLayer } from "llm-gateway/GatewayLayer"
import { Effect, Layer } from "effect"
import { fileURLToPath } from "node:url"
import { AlertClassifier } from "../src/AlertClassifier.ts"

const modelPath = fileURLToPath(new URL("../../../models/stories260K.gguf", import.meta.url))

const layer = AlertClassifier.layer({ llmEnabled: true, concurrency: 1 }).pipe(
  Layer.provide(gatewayLayer({
    config: {
      providers: [{ name: "local", type: "llamacpp", modelPath, threads: 1, contextLength: 1024, models: [{ id: "stories260K", contextWindow: 1024 }] }],
      cache: { enabled: false },
      conversations: { store: "memory" }
    }
  }))
)

describe("alert classification on the embedded llama.cpp model", () => {
  it.live("grammar-constrained JSON: a classification of the right shape, source llm", () =>
    Effect.gen(function*() {
      const r = yield* (yield* AlertClassifier).classify({
        labels: { alertname: "KubePodCrashLooping", severity: "warning", pod: "cart-7d9f" },
        annotations: { summary: "Pod is crash looping." }
      })
      expect(r.source).toBe("llm")
      expect(r.model).toBe("local/stories260K")
      expect(["critical", "warning", "info", "noise"]).toContain(r.severity)
      expect(r.confidence).toBeGreaterThanOrEqual(0)
      expect(r.confidence).toBeLessThanOrEqual(1)
      expect(Array.isArray(r.recommendations)).toBe(true)
      expect(r.tokens).toBeGreaterThan(0)
    }).pipe(Effect.provide(layer)), 60_000)
})
