import { describe, expect, it } from "@effect/vitest"
import { NetworkError } from "@llm-gateway/core/domain/LLMError"
import { makeTestGateway, Scripted } from "@llm-gateway/testing"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { SystemAnalyst } from "../src/SystemAnalyst.ts"

const seedMetrics = { cpu_percent: 97, memory_percent: 60, latency_ms: 120, packet_loss: 0.5 }
const oneModel = { providers: [{ name: "test", type: "openai-compatible" as const, baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "scripted" }] }] }
const actions = ["restart_service", "scale_up", "throttle_requests"] as const

const analystOver = (responses: ReadonlyArray<string>, llmEnabled = true) => {
  const gateway = makeTestGateway({ responses })
  return { layer: SystemAnalyst.layer({ llmEnabled }).pipe(Layer.provide(gateway.layer)), gateway }
}

describe("SystemAnalyst", () => {
  it.effect("analyzeSystemState: the model's typed analysis, source llm", () => {
    const answer = {
      summary: "CPU saturated",
      anomalies: [{ metric: "cpu_percent", value: 97, expected: "< 80", severity: "high" }],
      recommendations: ["scale out"],
      healthScore: 0.4
    }
    const { layer } = analystOver([JSON.stringify(answer)])
    return Effect.gen(function*() {
      const r = yield* (yield* SystemAnalyst).analyzeSystemState(seedMetrics, { consciousness_state: "CONTEMPLATIVE" })
      expect(r).toEqual({ ...answer, source: "llm", model: "test/scripted" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("no LLM: threshold rules find the anomaly and mark source rules", () => {
    const { layer, gateway } = analystOver([], false)
    return Effect.gen(function*() {
      const r = yield* (yield* SystemAnalyst).analyzeSystemState(seedMetrics)
      expect(r.source).toBe("rules")
      expect(r.anomalies).toEqual([{ metric: "cpu_percent", value: 97, expected: "< 80%", severity: "high" }])
      expect(r.healthScore).toBeLessThan(1)
      expect(gateway.calls()).toHaveLength(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("healing decision: a model answer outside availableActions is refused (repair, then rules' lowest-risk action)", () => {
    const bad = JSON.stringify({ action: "delete_database", target: "db", parameters: {}, riskLevel: "high", confidence: 0.9, reasoning: "x" })
    const { layer, gateway } = analystOver([bad, bad])
    return Effect.gen(function*() {
      const r = yield* (yield* SystemAnalyst).generateHealingDecision("High CPU usage detected", seedMetrics, actions)
      expect(r).toMatchObject({ action: "scale_up", riskLevel: "medium", source: "rules" })
      expect(gateway.calls()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("healing decision from the model when it picks an offered action", () => {
    const good = JSON.stringify({ action: "scale_up", target: "api", parameters: { replicas: 3 }, riskLevel: "medium", confidence: 0.8, reasoning: "load" })
    const { layer } = analystOver([good])
    return Effect.gen(function*() {
      const r = yield* (yield* SystemAnalyst).generateHealingDecision({ metric: "cpu_percent", value: 97 }, undefined, actions)
      expect(r).toMatchObject({ action: "scale_up", parameters: { replicas: 3 }, source: "llm" })
    }).pipe(Effect.provide(layer))
  })

  it.live("property: whatever the model answers (or if it fails), the action is one of availableActions", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }),
          fc.oneof(fc.string(), fc.constantFrom("restart_service", "scale_up", "rm -rf /"), fc.constant(null)),
          fc.boolean(),
          async (offered, modelAction, fails) => {
            const answer = JSON.stringify({ action: modelAction, target: "t", parameters: {}, riskLevel: "low", confidence: 0.5, reasoning: "r" })
            const gateway = makeTestGateway({
              script: () => fails ? Scripted.fail(new NetworkError({ model: "test/scripted", message: "down" })) : Scripted.ok(answer),
              config: { ...oneModel, routing: { maxRetries: 0 } }
            })
            const decision = await Effect.runPromise(
              Effect.gen(function*() {
                return yield* (yield* SystemAnalyst).generateHealingDecision("anomaly", {}, offered as [string, ...Array<string>])
              }).pipe(
                Effect.provide(SystemAnalyst.layer({ llmEnabled: true }).pipe(Layer.provide(gateway.layer)))
              )
            )
            expect(offered).toContain(decision.action)
          }
        ),
        { numRuns: 60 }
      )
    ))

  it.effect("explainAnomaly and predictAnomalies degrade to rules", () => {
    const { layer } = analystOver([], false)
    return Effect.gen(function*() {
      const analyst = yield* SystemAnalyst
      const e = yield* analyst.explainAnomaly({ metric: "memory_percent", value: 97, expected: "< 85%", severity: "high" })
      expect(e).toMatchObject({ source: "rules" })
      expect(e.explanation).toContain("memory_percent")
      const p = yield* analyst.predictAnomalies([50, 60, 70, 80].map((cpu) => ({ cpu_percent: cpu, memory_percent: 40 })))
      expect(p.source).toBe("rules")
      expect(p.predictions.map((x) => x.metric)).toEqual(["cpu_percent"])
    }).pipe(Effect.provide(layer))
  })
})
