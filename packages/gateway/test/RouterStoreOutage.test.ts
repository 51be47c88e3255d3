/**
 * Issue 20: a Redis outage must not switch the circuit breakers off or flood the log. The
 * gateway wired as in production (`redis.url` → Effect's Redis breaker and limiter stores on the
 * resilient client) against a private Redis the test kills, a 100 %-failing upstream and a
 * healthy one, both loopback fakes spoken to by the real OpenAI client.
 */
import { describe, expect, it } from "@effect/vitest"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { startPrivateRedis } from "@llm-gateway/testing/services/PrivateRedis"
import { Context, Effect, Layer, Logger } from "effect"
import { loadGatewayConfig, layerFromConfig } from "../src/GatewayLayer.ts"

const FAILURE_THRESHOLD = 5

const chatCalls = (fake: FakeOpenAI) => fake.server.requests.filter((r) => r.path.endsWith("/chat/completions")).length

/** Every log line the gateway writes, as text. */
const capturedLog = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  return { lines, layer: Logger.layer([logger]) }
}

const gateway = (bad: FakeOpenAI, good: FakeOpenAI, redisUrl: string) =>
  Effect.flatMap(
    loadGatewayConfig({
      config: {
        providers: [
          { name: "bad", type: "openai-compatible", baseUrl: bad.baseUrl, models: [{ id: "m" }] },
          { name: "good", type: "openai-compatible", baseUrl: good.baseUrl, models: [{ id: "m" }] }
        ],
        routing: {
          strategy: "performance",
          fallbackOrder: ["bad/m", "good/m"],
          maxRetries: 0,
          circuitBreaker: { failureThreshold: FAILURE_THRESHOLD, successThreshold: 1, openMs: 60_000 }
        },
        redis: { url: redisUrl },
        cache: { enabled: false },
        conversations: { store: "memory" }
      }
    }),
    (config) => Effect.map(Layer.build(layerFromConfig(config)), (ctx) => Context.get(ctx, ModelRouter))
  )

describe("ModelRouter while the shared Redis store is down", () => {
  it.live("a failing model still opens its breaker after failureThreshold failures; the log stays bounded", () =>
    Effect.gen(function*() {
      const redis = yield* Effect.acquireRelease(Effect.promise(() => startPrivateRedis()), (r) => Effect.promise(() => r.stop()))
      const bad = yield* Effect.acquireRelease(Effect.promise(() => startFakeOpenAI()), (f) => Effect.promise(() => f.close()))
      const good = yield* Effect.acquireRelease(Effect.promise(() => startFakeOpenAI()), (f) => Effect.promise(() => f.close()))
      bad.enqueueFault({ kind: "status", status: 500 }, 10_000)
      const log = capturedLog()
      yield* Effect.gen(function*() {
        const router = yield* gateway(bad, good, redis.url)
        // with the store up, a healthy first request
        expect((yield* router.generate({ prompt: "hello" })).ref).toBe("good/m")
        // (its first attempt on bad counted in Redis; the outage starts from a clean count)
        yield* Effect.promise(() => redis.kill())
        const badBefore = chatCalls(bad)

        // a few hundred requests, 8 at a time, while Redis is gone
        const refs = yield* Effect.forEach(
          Array.from({ length: 300 }, (_, i) => i),
          (i) => Effect.map(router.generate({ prompt: `question ${i}` }), (r) => r.ref),
          { concurrency: 8 }
        )
        expect(refs.every((r) => r === "good/m")).toBe(true)
        // the breaker held in this instance's memory opened after failureThreshold failures
        // (plus the calls already in flight when it tripped); before the fix: all 300
        const badCalls = chatCalls(bad) - badBefore
        expect(badCalls).toBeGreaterThanOrEqual(FAILURE_THRESHOLD)
        expect(badCalls).toBeLessThanOrEqual(FAILURE_THRESHOLD + 8)
        expect((yield* router.stats).deployments.find((d) => d.ref === "bad/m")?.circuit).toBe("open")

        // no line per request: one "store lost" (plus the Redis client's own connection line)
        const lost = log.lines.filter((l) => l.includes("shared router store unavailable"))
        expect(lost).toHaveLength(1)
        expect(log.lines.length).toBeLessThan(10)
        expect(log.lines.some((l) => l.includes("running the call unrecorded"))).toBe(false)

        // Redis back: the router finds it again on its own (one probe a second) and says so once
        yield* Effect.promise(() => redis.restart())
        const deadline = Date.now() + 8_000
        while (!log.lines.some((l) => l.includes("shared router store back")) && Date.now() < deadline) {
          yield* router.generate({ prompt: "are you back?" })
          yield* Effect.sleep("100 millis")
        }
        expect(log.lines.filter((l) => l.includes("shared router store back"))).toHaveLength(1)
        expect(log.lines.length).toBeLessThan(12)
      }).pipe(Effect.provide(log.layer))
    }).pipe(Effect.scoped), 30_000)
})
