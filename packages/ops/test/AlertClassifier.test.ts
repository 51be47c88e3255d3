import { describe, expect, it } from "@effect/vitest"
import { CacheL2 } from "@llm-gateway/core/cache/CacheL2"
import { NetworkError } from "@llm-gateway/core/domain/LLMError"
import { type LayerTestOptions, makeTestGateway, Scripted, type ScriptedCall } from "@llm-gateway/testing"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { readFileSync } from "node:fs"
import { type Alert, WebhookPayload } from "../src/Alert.ts"
import { AlertClassifier } from "../src/AlertClassifier.ts"
import { Schema } from "effect"

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"))

const answer = (severity: string, category = "kubernetes") =>
  JSON.stringify({ severity, category, confidence: 0.8, reasoning: "scripted", recommendations: ["look at it"] })

const alert = (name: string, extra: Record<string, string> = {}): Alert => ({
  status: "firing",
  labels: { alertname: name, ...extra },
  annotations: { summary: `${name} summary` },
  startsAt: "2025-12-02T10:00:00Z"
})

const classifierOver = (script: (call: ScriptedCall) => Scripted, config?: LayerTestOptions["config"]) => {
  const gateway = makeTestGateway({ script, config })
  const layer = AlertClassifier.layer({ llmEnabled: true }).pipe(Layer.provide(gateway.layer), Layer.provide(CacheL2.layerMemory))
  return { layer, calls: () => gateway.calls().filter((c) => c.method !== "embed") }
}

describe("AlertClassifier", () => {
  it.effect("LLM path: the model's answer, with fingerprint, model, tokens and source llm", () => {
    const { layer, calls } = classifierOver(() => Scripted.ok(answer("critical")))
    return Effect.gen(function*() {
      const classifier = yield* AlertClassifier
      const r = yield* classifier.classify(alert("KubeAPIDown", { severity: "warning" }))
      expect(r).toMatchObject({ severity: "critical", category: "kubernetes", confidence: 0.8, source: "llm", model: "test/scripted" })
      expect(r.tokens).toBeGreaterThan(0)
      expect(r.fingerprint).toMatch(/^[0-9a-f]{16}$/)
      // routed as the alert-classification task, asking for JSON matching the schema
      const request = calls()[0].request as { taskType?: string; responseFormat?: { type: string } }
      expect(request.responseFormat?.type).toBe("json_schema")
    }).pipe(Effect.provide(layer))
  })

  it.effect("invalid JSON, then invalid again after the one repair: rules, source rules", () => {
    const { layer, calls } = classifierOver(() => Scripted.ok("I think this is bad"))
    return Effect.gen(function*() {
      const r = yield* (yield* AlertClassifier).classify(alert("Watchdog"))
      expect(r).toMatchObject({ severity: "noise", source: "rules", model: "rules", tokens: 0 })
      expect(calls()).toHaveLength(2) // the answer and the repair
    }).pipe(Effect.provide(layer))
  })

  it.effect("invalid JSON repaired on the second answer: llm", () => {
    const { layer, calls } = classifierOver((c) => c.index === 0 ? Scripted.ok("{severity: oops") : Scripted.ok(answer("warning")))
    return Effect.gen(function*() {
      const r = yield* (yield* AlertClassifier).classify(alert("SlowQueries"))
      expect(r).toMatchObject({ severity: "warning", source: "llm" })
      expect(calls()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("every candidate fails, then the breaker is open: rules without calling the model", () => {
    const { layer, calls } = classifierOver(
      () => Scripted.fail(new NetworkError({ model: "test/scripted", message: "connection refused" })),
      {
        providers: [{ name: "test", type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "scripted" }] }],
        routing: { maxRetries: 0, circuitBreaker: { failureThreshold: 1, successThreshold: 1, openMs: 60_000 } }
      }
    )
    return Effect.gen(function*() {
      const classifier = yield* AlertClassifier
      const first = yield* classifier.classify(alert("PostgresDown", { severity: "critical" }))
      expect(first).toMatchObject({ severity: "critical", source: "rules" })
      const before = calls().length
      expect(before).toBeGreaterThan(0)
      const second = yield* classifier.classify(alert("DiskFull"))
      expect(second).toMatchObject({ severity: "critical", source: "rules" })
      expect(calls().length).toBe(before) // breaker open: the model was not asked
    }).pipe(Effect.provide(layer))
  })

  it.effect("a batch of 100 alerts with 10 distinct fingerprints: 10 model calls, results in input order", () => {
    const { layer, calls } = classifierOver((c) => {
      const user = (c.request as { messages: ReadonlyArray<{ content: string }> }).messages.at(-1)!.content
      const n = Number(/Alert(\d+)/.exec(user)![1])
      return Scripted.ok(answer(n % 2 === 0 ? "critical" : "info", `c${n}`), { delayMs: 5 })
    })
    const alerts = Array.from({ length: 100 }, (_, i) => ({ ...alert(`Alert${i % 10}`), fingerprint: `fp${i % 10}` }))
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* AlertClassifier).classifyBatch(alerts))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(fiber)
      expect(calls()).toHaveLength(10)
      // bounded: at most 4 model calls in flight (each takes 5 ms of TestClock time)
      const perInstant = new Map<number, number>()
      for (const c of calls()) perInstant.set(c.at, (perInstant.get(c.at) ?? 0) + 1)
      expect(Math.max(...perInstant.values())).toBe(4)
      expect(results).toHaveLength(100)
      results.forEach((r, i) => {
        expect(r.fingerprint).toBe(`fp${i % 10}`)
        expect(r.category).toBe(`c${i % 10}`)
        expect(r.severity).toBe(i % 2 === 0 ? "critical" : "info")
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("same fingerprint, different label set: classified separately; the same again: from the cache", () => {
    const { layer, calls } = classifierOver(() => Scripted.ok(answer("warning")))
    return Effect.gen(function*() {
      const classifier = yield* AlertClassifier
      yield* classifier.classify({ ...alert("A", { pod: "1" }), fingerprint: "same" })
      yield* classifier.classify({ ...alert("A", { pod: "2" }), fingerprint: "same" })
      expect(calls()).toHaveLength(2)
      const again = yield* classifier.classify({ ...alert("A", { pod: "1" }), fingerprint: "same", annotations: { value: "97%" } })
      expect(again).toMatchObject({ source: "cache", severity: "warning", model: "test/scripted", tokens: 0 })
      expect(calls()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a second instance sharing the L2 reuses the first one's answer", () => {
    const shared = CacheL2.layerMemory
    const one = makeTestGateway({ script: () => Scripted.ok(answer("critical")) })
    const two = makeTestGateway({ script: () => Scripted.ok(answer("info")) })
    return Effect.gen(function*() {
      const l2 = yield* Layer.build(shared)
      const build = (gw: typeof one) =>
        Layer.build(AlertClassifier.layer({ llmEnabled: true }).pipe(Layer.provide(gw.layer), Layer.provide(Layer.succeedContext(l2))))
      const a = yield* Effect.map(build(one), (ctx) => ctx.mapUnsafe.get(AlertClassifier.key) as AlertClassifier["Service"])
      const b = yield* Effect.map(build(two), (ctx) => ctx.mapUnsafe.get(AlertClassifier.key) as AlertClassifier["Service"])
      expect((yield* a.classify(alert("X"))).source).toBe("llm")
      expect(yield* b.classify(alert("X"))).toMatchObject({ source: "cache", severity: "critical" })
      expect(two.calls()).toHaveLength(0)
    }).pipe(Effect.scoped)
  })

  it.effect("LLM off: rules for every alert, no model call", () => {
    const gateway = makeTestGateway({ script: () => Scripted.ok(answer("critical")) })
    const layer = AlertClassifier.layer({ llmEnabled: false }).pipe(Layer.provide(gateway.layer))
    return Effect.gen(function*() {
      const payload = Schema.decodeUnknownSync(WebhookPayload)(fixture("alertmanager-webhook.json"))
      const results = yield* (yield* AlertClassifier).classifyBatch(payload.alerts)
      expect(results.map((r) => [r.fingerprint, r.severity, r.source])).toEqual([
        ["5c1ab4d6e1b2f3a0", "warning", "rules"],
        ["9e07f2c3aa41d8b5", "warning", "rules"]
      ])
      expect(gateway.calls()).toHaveLength(0)
    }).pipe(Effect.provide(layer))
  })
})
