import { describe, expect, it } from "@effect/vitest"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { startPrivateRedis } from "@llm-gateway/testing/services/PrivateRedis"
import { Effect, Exit, Schema, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { createDefaultLLMManager, makeLLMManager } from "../src/index.ts"

let fake: FakeOpenAI
beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: "Hello from the fake upstream" })
})
afterAll(() => fake.close())

const chatCalls = () => fake.server.requests.filter((r) => r.path.endsWith("/chat/completions"))

const configFor = (baseUrl: string, extra: Record<string, unknown> = {}) => ({
  providers: [{
    name: "openai",
    type: "openai-compatible",
    baseUrl,
    models: [{ id: "gpt-4o-mini", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
  }],
  conversations: { store: "memory" },
  ...extra
})

/** Runs `f` with a manager built from `config`, closed afterwards. */
const withManager = <A, E>(config: Record<string, unknown>, f: (m: Effect.Success<ReturnType<typeof makeLLMManager>>) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(makeLLMManager(config as never), f))

const unique = (label: string) => `${label} ${Math.random().toString(36).slice(2)}`

describe("LLMManager through the llm-gateway package (real SDK, loopback upstream)", () => {
  it.live("generate returns content, usage, cost and attempts; the same request again is a cache hit", () =>
    withManager(configFor(fake.baseUrl), (manager) =>
      Effect.gen(function*() {
        const before = chatCalls().length
        const prompt = unique("What is 2+2?")
        const first = yield* manager.generate({ prompt, taskType: "general" })
        expect(first.content).toBe("Hello from the fake upstream")
        expect([first.provider, first.model, first.cached, first.finishReason]).toEqual(["openai", "gpt-4o-mini", false, "stop"])
        expect(first.usage.totalTokens).toBe(first.usage.promptTokens + first.usage.completionTokens)
        expect(first.usage.completionTokens).toBe(5)
        expect(first.costUsd).toBeCloseTo((first.usage.promptTokens * 0.15 + 5 * 0.6) / 1e6, 12)
        expect(first.attempts.map((a) => a.outcome)).toEqual(["ok"])
        const second = yield* manager.generate({ prompt, taskType: "general" })
        expect(second.cached).toBe(true)
        expect(second.content).toBe(first.content)
        expect(chatCalls().length - before).toBe(1)
        const bypass = yield* manager.generate({ prompt, taskType: "general", cache: false })
        expect(bypass.cached).toBe(false)
        expect(chatCalls().length - before).toBe(2)
      })))

  it.live("a request naming another model is not answered from the first model's cache entry", () => {
    const config = configFor(fake.baseUrl)
    ;(config.providers[0].models as Array<unknown>).push({ id: "gpt-4o", contextWindow: 128000 })
    return withManager(config, (manager) =>
      Effect.gen(function*() {
        const prompt = unique("which model?")
        const a = yield* manager.generate({ prompt, model: "openai/gpt-4o-mini" })
        const b = yield* manager.generate({ prompt, model: "openai/gpt-4o" })
        expect([a.model, a.cached]).toEqual(["gpt-4o-mini", false])
        expect([b.model, b.cached]).toEqual(["gpt-4o", false])
        const again = yield* manager.generate({ prompt, model: "openai/gpt-4o" })
        expect([again.model, again.cached]).toEqual(["gpt-4o", true])
      }))
  })

  it.live("one tenant never receives another tenant's cached answer", () =>
    withManager(configFor(fake.baseUrl), (manager) =>
      Effect.gen(function*() {
        const before = chatCalls().length
        const prompt = unique("tenant question")
        const a = yield* manager.generate({ prompt }, { scope: "tenant-a" })
        const b = yield* manager.generate({ prompt }, { scope: "tenant-b" })
        expect([a.cached, b.cached]).toEqual([false, false])
        expect(chatCalls().length - before).toBe(2)
        const a2 = yield* manager.generate({ prompt }, { scope: "tenant-a" })
        expect(a2.cached).toBe(true)
      })))

  it.live("identical concurrent misses make one upstream call", () =>
    Effect.gen(function*() {
      const slow = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeOpenAI({ reply: "slow answer", latencyMs: 100 })),
        (f) => Effect.promise(() => f.close())
      )
      yield* withManager(configFor(slow.baseUrl), (manager) =>
        Effect.gen(function*() {
          const results = yield* Effect.all(Array.from({ length: 20 }, () => manager.generate({ prompt: "same question" })), {
            concurrency: "unbounded"
          })
          expect(results.every((r) => r.content === "slow answer")).toBe(true)
          expect(slow.server.requests.filter((r) => r.path.endsWith("/chat/completions")).length).toBe(1)
        }))
    }).pipe(Effect.scoped))

  it.live("two manager instances sharing Redis see each other's cache entries", () =>
    Effect.gen(function*() {
      const redis = { url: process.env.REDIS_URL! }
      const prompt = unique("shared question")
      const before = chatCalls().length
      const first = yield* withManager(configFor(fake.baseUrl, { redis }), (m) => m.generate({ prompt }))
      const second = yield* withManager(configFor(fake.baseUrl, { redis }), (m) => m.generate({ prompt }))
      expect([first.cached, second.cached]).toEqual([false, true])
      expect(second.content).toBe(first.content)
      expect(chatCalls().length - before).toBe(1)
    }))

  it.live("Redis killed mid-test: requests still succeed; the gateway also starts while Redis is down", () =>
    Effect.gen(function*() {
      const redis = yield* Effect.acquireRelease(Effect.promise(() => startPrivateRedis()), (r) => Effect.promise(() => r.stop()))
      yield* withManager(configFor(fake.baseUrl, { redis: { url: redis.url } }), (manager) =>
        Effect.gen(function*() {
          const warm = yield* manager.generate({ prompt: unique("before the outage") })
          expect(warm.cached).toBe(false)
          yield* Effect.promise(() => redis.kill())
          const started = Date.now()
          for (let i = 0; i < 5; i++) {
            const r = yield* manager.generate({ prompt: unique("during the outage") })
            expect(r.content).toBe("Hello from the fake upstream")
          }
          // every L2 call is bounded: five requests must not wait on the dead Redis
          expect(Date.now() - started).toBeLessThan(3_000)
        }))
      // Redis is still down: a new gateway must start and serve.
      const cold = yield* withManager(configFor(fake.baseUrl, { redis: { url: redis.url } }), (m) => m.generate({ prompt: unique("cold start") }))
      expect(cold.content).toBe("Hello from the fake upstream")
    }).pipe(Effect.scoped))

  it.live("generateStream streams the answer with usage last, and a cached answer replays as a stream", () =>
    withManager(configFor(fake.baseUrl), (manager) =>
      Effect.gen(function*() {
        const prompt = unique("stream me")
        const chunks = yield* Stream.runCollect(manager.generateStream({ prompt }))
        const list = Array.from(chunks)
        expect(list.map((c) => c.delta).join("")).toBe("Hello from the fake upstream")
        const last = list[list.length - 1]
        expect(last.usage?.completionTokens).toBe(5)
        expect(last.finishReason).toBe("stop")
        const replay = Array.from(yield* Stream.runCollect(manager.generateStream({ prompt })))
        expect(replay.map((c) => c.delta).join("")).toBe("Hello from the fake upstream")
        expect(replay[replay.length - 1].cached).toBe(true)
      })))
})

describe("chat and structured output", () => {
  it.live("chat keeps the conversation, and trimming to a small window keeps the system prompt", () =>
    Effect.gen(function*() {
      const small = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeOpenAI({ reply: "ok" })),
        (f) => Effect.promise(() => f.close())
      )
      const config = configFor(small.baseUrl)
      ;(config.providers[0].models[0] as { contextWindow: number }).contextWindow = 120
      yield* withManager(config, (manager) =>
        Effect.gen(function*() {
          const long = "word ".repeat(30)
          const options = { system: "You are terse.", preferences: { maxTokens: 20 } }
          for (let i = 0; i < 4; i++) yield* manager.chat("conv-1", `turn ${i} ${long}`, options)
          const sent = small.server.requests.filter((r) => r.path.endsWith("/chat/completions"))
          const lastBody = sent[sent.length - 1].body as { messages: Array<{ role: string; content: string }> }
          expect(lastBody.messages[0]).toEqual({ role: "system", content: "You are terse." })
          expect(lastBody.messages[lastBody.messages.length - 1].content).toContain("turn 3")
          // older turns were dropped to fit 120 tokens
          expect(lastBody.messages.some((m) => m.content.startsWith("turn 0"))).toBe(false)
          const first = sent[0].body as { messages: Array<{ role: string; content: string }> }
          expect(first.messages.length).toBe(2)
        }))
    }).pipe(Effect.scoped))

  const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

  it.live("generateObject decodes valid JSON, repairs once, then fails with a typed error", () =>
    Effect.gen(function*() {
      const replies: Array<string> = []
      const obj = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeOpenAI({ reply: () => replies.shift() ?? "no more" })),
        (f) => Effect.promise(() => f.close())
      )
      yield* withManager(configFor(obj.baseUrl), (manager) =>
        Effect.gen(function*() {
          replies.push("```json\n{\"name\":\"Ada\",\"age\":36}\n```")
          const ok = yield* manager.generateObject({ prompt: unique("person"), cache: false }, Person)
          expect(ok.object).toEqual({ name: "Ada", age: 36 })
          const sent = obj.server.requests.at(-1)!.body as { response_format?: { type: string } }
          expect(sent.response_format?.type).toBe("json_schema")

          replies.push("{\"name\":\"Ada\"}", "{\"name\":\"Ada\",\"age\":37}")
          const repaired = yield* manager.generateObject({ prompt: unique("person"), cache: false }, Person)
          expect(repaired.object.age).toBe(37)

          replies.push("not json", "still not json")
          const error = yield* Effect.flip(manager.generateObject({ prompt: unique("person"), cache: false }, Person))
          expect(error._tag).toBe("StructuredOutputError")
          expect(error._tag === "StructuredOutputError" && error.content).toBe("still not json")
        }))
    }).pipe(Effect.scoped))
})

describe("createDefaultLLMManager", () => {
  it("works from env with plain async code", async () => {
    const manager = createDefaultLLMManager({
      env: { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: "sk-test-canary", LLM_CONVERSATIONS_STORE: "memory" }
    })
    try {
      const response = await Effect.runPromise(manager.generate({ prompt: unique("hello"), taskType: "general" }))
      expect(response.content).toBe("Hello from the fake upstream")
      expect(response.provider).toBe("openai")
    } finally {
      await manager.dispose()
    }
  })

  it("an invalid env config fails the call with a ConfigurationError naming the variable", async () => {
    const manager = createDefaultLLMManager({ env: { LLM_ROUTING_STRATEGY: "fastest", LLM_CONVERSATIONS_STORE: "memory" } })
    const exit = await Effect.runPromiseExit(manager.generate({ prompt: "hi" }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("LLM_ROUTING_STRATEGY")
    await manager.dispose()
  })
})

