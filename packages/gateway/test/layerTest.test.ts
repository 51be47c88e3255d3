/**
 * What a user of llm-gateway writes in their own tests: `layerTest` from `llm-gateway/testing`
 * gives the real manager over scripted clients, and `makeLLMManager(config, { clients })` swaps
 * one provider's client while the rest of the gateway stays real.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer, Stream } from "effect"
import { LLMError, LLMManager, makeLLMManager } from "../src/index.ts"
import { layerTest, makeScriptedClient, makeTestGateway, Scripted } from "../src/testing.ts"

/** The user's program: asks twice and returns both answers. */
const program = Effect.gen(function*() {
  const manager = yield* LLMManager
  const a = yield* manager.generate({ prompt: "Tell me something" })
  const b = yield* manager.generate({ prompt: "Tell me something" })
  return [a.content, b.content]
})

describe("layerTest (llm-gateway/testing)", () => {
  it.effect("answers the program's requests with the scripted responses, in order", () =>
    Effect.gen(function*() {
      expect(yield* program).toEqual(["first answer", "second answer"])
    }).pipe(Effect.provide(layerTest({ responses: ["first answer", "second answer"] }))))

  it("works from plain async code with Effect.runPromise", async () => {
    const answers = await Effect.runPromise(Effect.provide(program, layerTest({ responses: ["one", "two"] })))
    expect(answers).toEqual(["one", "two"])
  })

  it("streams a response in several deltas, and chat keeps the conversation", async () => {
    const gateway = makeTestGateway({ responses: ["Once upon a time there was a cat", "It purred.", "The end."] })
    const run = Effect.gen(function*() {
      const manager = yield* LLMManager
      const chunks = yield* Stream.runCollect(manager.generateStream({ prompt: "story" }))
      const deltas = chunks.map((c) => c.delta).filter((d) => d !== "")
      const first = yield* manager.chat("c1", "And then?")
      const second = yield* manager.chat("c1", "Finally?")
      return { deltas, replies: [first.content, second.content] }
    })
    const { deltas, replies } = await Effect.runPromise(Effect.provide(run, gateway.layer))
    expect(deltas.length).toBeGreaterThan(3)
    expect(deltas.join("")).toBe("Once upon a time there was a cat")
    expect(replies).toEqual(["It purred.", "The end."])
    // the second chat turn carries the first turn's question and answer
    const last = gateway.calls().at(-1)!.request
    expect("messages" in last && last.messages.map((m) => m.content)).toEqual(["And then?", "It purred.", "Finally?"])
  })

  it.effect("a script drives errors: a failing provider falls back to the next", () => {
    const gateway = makeTestGateway({
      config: {
        providers: [
          { name: "primary", type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "m1" }] },
          { name: "backup", type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "m2" }] }
        ],
        routing: { fallbackOrder: ["primary/m1", "backup/m2"], maxRetries: 0 }
      },
      script: {
        primary: [Scripted.fail(new LLMError.ModelUnavailable({ model: "primary/m1", message: "down" }))],
        backup: [Scripted.ok("from backup")]
      }
    })
    return Effect.gen(function*() {
      const manager = yield* LLMManager
      const r = yield* manager.generate({ prompt: "hi" })
      expect([r.provider, r.content]).toEqual(["backup", "from backup"])
      expect(gateway.calls().map((c) => c.provider)).toEqual(["primary", "backup"])
    }).pipe(Effect.provide(gateway.layer))
  })
})

describe("makeLLMManager(config, { clients })", () => {
  it.effect("swaps a provider's client by name; a plain (non-const) config object typechecks", () => {
    // No `as const`: `type` and `strategy` are plain strings here, checked at run time.
    const config = {
      providers: [{ name: "openai", type: "openai", apiKey: "sk-test", models: [{ id: "gpt-4o-mini" }] }],
      routing: { strategy: "cost" },
      conversations: { store: "memory" }
    }
    const openai = makeScriptedClient({ provider: "anything", script: [Scripted.ok("scripted openai")] })
    return Effect.gen(function*() {
      const manager = yield* makeLLMManager(config, { clients: { openai: openai.client } })
      const r = yield* manager.generate({ prompt: "hi" })
      expect([r.provider, r.model, r.content]).toEqual(["openai", "gpt-4o-mini", "scripted openai"])
      expect(openai.calls).toHaveLength(1)
    }).pipe(Effect.scoped)
  })

  it.effect("a bad literal value is a ConfigurationError naming its path", () => {
    const config = { providers: [{ name: "x", type: "opneai", models: [{ id: "m" }] }], conversations: { store: "memory" } }
    return Effect.gen(function*() {
      const error = yield* Effect.flip(makeLLMManager(config))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.path).toBe("providers[0].type")
    }).pipe(Effect.scoped)
  })
})

// The layer needs nothing else: this line fails to typecheck if layerTest requires any service.
export const _needsNothing: Layer.Layer<LLMManager> = layerTest({ responses: ["x"] })
