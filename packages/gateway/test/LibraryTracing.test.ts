/**
 * Spans for a library caller: with a tracer of its own installed, `manager.generate` records the
 * manager's, the attempt's and the upstream call's spans and sends the upstream call's span as
 * `traceparent`; with Effect's default tracer (nothing exports) the gateway makes no spans of
 * its own, and the caller's span, if any, is what reaches the upstream.
 */
import { describe, expect, it } from "@effect/vitest"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { Effect, Tracer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { makeLLMManager } from "../src/index.ts"

let fake: FakeOpenAI
beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: "traced answer" })
})
afterAll(() => fake.close())

const config = () => ({
  providers: [{
    name: "openai",
    type: "openai-compatible",
    baseUrl: fake.baseUrl,
    models: [{ id: "gpt-4o-mini", contextWindow: 128000 }]
  }],
  cache: { enabled: false },
  conversations: { store: "memory" }
})

/** The `traceparent` of the last chat completion the upstream received. */
const lastTraceparent = () =>
  fake.server.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)?.headers.traceparent

const generateOnce = Effect.suspend(() =>
  Effect.scoped(Effect.flatMap(makeLLMManager(config() as never), (manager) => manager.generate({ prompt: `hello ${Math.random()}` })))
)

describe("tracing for a library caller", () => {
  it.live("a tracer the caller installs records the gateway's spans; the upstream gets the call's span", () => {
    const spans: Array<Tracer.NativeSpan> = []
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })
    return Effect.gen(function*() {
      const answer = yield* generateOnce.pipe(Effect.provideService(Tracer.Tracer, tracer))
      expect(answer.content).toBe("traced answer")
      const names = spans.map((s) => s.name)
      expect(names).toEqual(expect.arrayContaining(["LLMManager.generate", "ModelRouter.attempt", "chat gpt-4o-mini"]))
      const upstream = spans.find((s) => s.name === "chat gpt-4o-mini")!
      expect(upstream.attributes.get("gen_ai.provider.name")).toBe("openai-compatible")
      expect(lastTraceparent()).toBe(`00-${upstream.traceId}-${upstream.spanId}-01`)
    })
  })

  it.live("with Effect's default tracer the gateway adds no span: the caller's own span reaches the upstream", () =>
    Effect.gen(function*() {
      yield* generateOnce
      expect(lastTraceparent()).toBeUndefined()
      const mine = yield* Effect.withSpan(
        Effect.flatMap(Effect.currentSpan, (span) => Effect.as(generateOnce, span)),
        "caller"
      )
      expect(lastTraceparent()).toBe(`00-${mine.traceId}-${mine.spanId}-01`)
    }))
})
