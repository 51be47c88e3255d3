/**
 * The labelled alert set (fixtures/alerts.json, written for this project): the rule classifier's
 * accuracy, its speed, and the LLM path's agreement with the labels when the model (scripted
 * here) answers the labelled severity — which checks that prompt, JSON schema, decode and
 * result carry the model's judgment through unchanged, alert by alert. Figures: notes/ops.md.
 */
import { describe, expect, it } from "@effect/vitest"
import { makeTestGateway, Scripted } from "@llm-gateway/testing"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import type { Alert } from "../src/Alert.ts"
import { AlertClassifier } from "../src/AlertClassifier.ts"
import { classifyByRules } from "../src/RuleClassifier.ts"

interface Row {
  readonly name: string
  readonly expected: string
  readonly alert: Alert
}
const rows = (JSON.parse(readFileSync(new URL("./fixtures/alerts.json", import.meta.url), "utf8")) as { alerts: Array<Row> }).alerts

describe("labelled alerts", () => {
  it("has 40+ alerts", () => {
    expect(rows.length).toBeGreaterThanOrEqual(40)
  })

  it("rule classifier: accuracy and time per alert", () => {
    const wrong = rows.filter((r) => classifyByRules(r.alert).severity !== r.expected)
    const accuracy = 1 - wrong.length / rows.length
    const n = 20_000
    const started = performance.now()
    for (let i = 0; i < n; i++) classifyByRules(rows[i % rows.length].alert)
    const usPerAlert = ((performance.now() - started) / n) * 1000
    console.log(`rules: ${rows.length - wrong.length}/${rows.length} = ${(accuracy * 100).toFixed(1)}%, ${usPerAlert.toFixed(2)} µs/alert; misses: ${wrong.map((r) => r.name).join("; ")}`)
    expect(accuracy).toBeGreaterThanOrEqual(0.85)
    expect(usPerAlert).toBeLessThan(1000) // well under 1 ms
  })

  it.effect("LLM path (scripted model answering the labels): every result agrees, source llm", () => {
    const byName = new Map(rows.map((r) => [r.alert.labels.alertname + JSON.stringify(r.alert.labels), r.expected]))
    const gateway = makeTestGateway({
      script: (call) => {
        const user = (call.request as { messages: ReadonlyArray<{ content: string }> }).messages.at(-1)!.content
        const labels = (JSON.parse(user) as { labels: Record<string, string> }).labels
        const severity = byName.get(labels.alertname + JSON.stringify(labels))
        return Scripted.ok(JSON.stringify({ severity, category: "x", confidence: 0.9, reasoning: "labelled", recommendations: [] }))
      }
    })
    return Effect.gen(function*() {
      const results = yield* (yield* AlertClassifier).classifyBatch(rows.map((r) => r.alert))
      const agree = results.filter((r, i) => r.severity === rows[i].expected && r.source === "llm").length
      const rulesAgree = rows.filter((r, i) => classifyByRules(r.alert).severity === results[i].severity).length
      console.log(`llm path: ${agree}/${rows.length} agree with the labels; rules agree with the llm path on ${rulesAgree}/${rows.length}`)
      expect(agree).toBe(rows.length)
    }).pipe(Effect.provide(AlertClassifier.layer({ llmEnabled: true }).pipe(Layer.provide(gateway.layer))))
  })
})
