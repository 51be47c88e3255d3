import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { LLMRequest } from "../../src/domain/Domain.ts"
import { LLMConfig } from "../../src/config/LLMConfig.ts"
import { ModelRouter } from "../../src/routing/ModelRouter.ts"
import { gatewayConfig, makeRouter, provider, scripted, seedProviders } from "./fixtures.ts"

const refs = (req: LLMRequest, config = gatewayConfig(seedProviders)) =>
  Effect.gen(function*() {
    const { layer } = scripted([])
    const router = yield* makeRouter(config, layer)
    const plan = yield* router.plan(req)
    return plan.candidates.map((c) => c.ref)
  })

const claude = "claude/claude-3-haiku-20240307"
const gpt = "openai/gpt-4o-mini"
const llama = "lmstudio/llama-3.1-8b"

describe("ModelRouter task routing (seed 003 defaults)", () => {
  it.effect.each([
    ["analysis", [claude, gpt, llama]],
    ["ui-generation", [gpt, claude, llama]],
    ["config-management", [llama, gpt, claude]],
    ["general", [llama, gpt, claude]],
    // sql has no default list: fallbackOrder (empty) → every chat model in config order
    ["sql", [claude, gpt, llama]],
    // an unknown task routes like general
    ["poetry", [llama, gpt, claude]]
  ] as const)("%s → %j", ([taskType, expected]) =>
    Effect.gen(function*() {
      // cost ordering would reorder; configured order is what is under test here
      const config = gatewayConfig(seedProviders, { strategy: "performance" })
      expect(yield* refs({ prompt: "hi", taskType }, config)).toEqual(expected)
    }).pipe(Effect.scoped))

  it.effect.each(["cost", "performance", "balanced"] as const)("a named model stays first under the %s strategy", (strategy) =>
    Effect.gen(function*() {
      const config = gatewayConfig(seedProviders, { strategy })
      for (const model of [claude, gpt, llama]) {
        const got = yield* refs({ prompt: "hi", taskType: "general", model }, config)
        expect(got[0]).toBe(model)
        expect(new Set(got).size).toBe(3)
      }
    }).pipe(Effect.scoped))

  it.effect("no taskType means general, and embedding models are never chat candidates", () =>
    Effect.gen(function*() {
      const got = yield* refs({ prompt: "hi" }, gatewayConfig(seedProviders, { strategy: "performance" }))
      expect(got).toEqual([llama, gpt, claude])
    }).pipe(Effect.scoped))

  it.effect("each provider contributes its models in config order; gemini is in no default family", () =>
    Effect.gen(function*() {
      const config = gatewayConfig([
        provider("g", "gemini", ["gemini-1.5-flash"]),
        provider("ol", "ollama", ["llama3.2", "qwen2.5"]),
        provider("az", "azure-openai", ["gpt-4o"])
      ], { strategy: "performance" })
      expect(yield* refs({ prompt: "x", taskType: "analysis" }, config)).toEqual(["az/gpt-4o", "ol/llama3.2", "ol/qwen2.5"])
    }).pipe(Effect.scoped))

  it.effect("routing.tasks overrides the default, then fallbackOrder follows without repeats", () =>
    Effect.gen(function*() {
      const config = gatewayConfig(seedProviders, {
        strategy: "performance",
        tasks: { analysis: [gpt], sql: ["llama-3.1-8b"] },
        fallbackOrder: [claude, gpt]
      })
      expect(yield* refs({ prompt: "x", taskType: "analysis" }, config)).toEqual([gpt, claude])
      // bare ids in task lists resolve to the provider listing them
      expect(yield* refs({ prompt: "x", taskType: "sql" }, config)).toEqual([llama, claude, gpt])
      // a configured custom task
      const custom = gatewayConfig(seedProviders, { strategy: "performance", tasks: { triage: [llama] } })
      expect(yield* refs({ prompt: "x", taskType: "triage" }, custom)).toEqual([llama])
    }).pipe(Effect.scoped))

  it.effect("an explicit model goes first, as provider/model, bare id or alias", () =>
    Effect.gen(function*() {
      const config = gatewayConfig(seedProviders, { strategy: "performance" })
      expect(yield* refs({ prompt: "x", taskType: "analysis", model: gpt }, config)).toEqual([gpt, claude, llama])
      expect(yield* refs({ prompt: "x", taskType: "analysis", model: "llama-3.1-8b" }, config)).toEqual([
        llama,
        claude,
        gpt
      ])
      expect(yield* refs({ prompt: "x", taskType: "analysis", model: "auto" }, config)).toEqual([claude, gpt, llama])
    }).pipe(Effect.scoped))

  it.effect("an unknown explicit model fails before any call with ModelUnavailable (404, no retry)", () =>
    Effect.gen(function*() {
      const { layer, clients } = scripted([{ provider: "openai" }])
      const router = yield* makeRouter(gatewayConfig(seedProviders), layer)
      for (const model of ["openai/gpt-9", "nope/gpt-4o-mini", "claude-9000"]) {
        const e = yield* Effect.flip(router.generate({ prompt: "x", model }))
        expect(e._tag).toBe("ModelUnavailable")
        expect(e._tag === "ModelUnavailable" && [e.status, e.shouldRetry, e.isRetryable]).toEqual([404, false, false])
        expect(e.message).toContain(model)
      }
      expect(clients.openai.calls).toHaveLength(0)
    }).pipe(Effect.scoped))

  it.effect("a provider listing no chat models accepts any model id (a local server's pulled models)", () =>
    Effect.gen(function*() {
      const config = gatewayConfig([...seedProviders, provider("ol", "ollama", [])], { strategy: "performance" })
      const got = yield* refs({ prompt: "x", taskType: "analysis", model: "ol/mistral:7b" }, config)
      expect(got[0]).toBe("ol/mistral:7b")
      // a bare id with no listing provider goes by prefix: others → the first local provider
      const lonely = gatewayConfig([provider("ol", "ollama", [])], { strategy: "performance" })
      expect((yield* refs({ prompt: "x", model: "phi3" }, lonely))[0]).toBe("ol/phi3")
    }).pipe(Effect.scoped))

  it.effect("a prompt larger than a model's context window leaves that model out of the plan", () =>
    Effect.gen(function*() {
      const { layer } = scripted([])
      const router = yield* makeRouter(gatewayConfig(seedProviders, { strategy: "performance" }), layer)
      const big = "x".repeat(4 * 20_000) // ~20k tokens > llama's 8k window
      const plan = yield* router.plan({ prompt: big, taskType: "general" })
      expect(plan.candidates.map((c) => c.ref)).toEqual([gpt, claude])
      expect(plan.excluded).toEqual([{ ref: llama, reason: "context-window" }])
      const huge = "x".repeat(4 * 300_000)
      const e = yield* Effect.flip(router.plan({ prompt: huge }))
      expect(e._tag).toBe("ContextTooLarge")
    }).pipe(Effect.scoped))

  it.effect("a tool result counts toward the prompt: a large one leaves a small-window model out", () =>
    Effect.gen(function*() {
      const { layer } = scripted([])
      const router = yield* makeRouter(gatewayConfig(seedProviders, { strategy: "performance" }), layer)
      const turns = (result: unknown): LLMRequest => ({
        taskType: "general",
        messages: [
          { role: "user", content: "Read the log" },
          { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "read_file", params: { path: "app.log" } }] },
          { role: "tool", content: [{ type: "tool-result", id: "c1", name: "read_file", isFailure: false, result }] }
        ]
      })
      const small = yield* router.plan(turns("a few lines"))
      expect(small.excluded).toEqual([])
      // ~20k tokens of tool output (as a string and as JSON) > llama's 8k window
      for (const result of ["x".repeat(4 * 20_000), { lines: ["x".repeat(4 * 20_000)] }]) {
        const plan = yield* router.plan(turns(result))
        expect(plan.candidates.map((c) => c.ref)).toEqual([gpt, claude])
        expect(plan.excluded).toEqual([{ ref: llama, reason: "context-window" }])
      }
    }).pipe(Effect.scoped))

  it.effect("a request without prompt or messages is an InvalidRequest", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(refs({ taskType: "general" }))
      expect(e._tag).toBe("InvalidRequest")
    }).pipe(Effect.scoped))

  it.effect("models lists every configured deployment", () =>
    Effect.gen(function*() {
      const { layer } = scripted([])
      const router = yield* makeRouter(gatewayConfig(seedProviders), layer)
      expect(router.models.map((m) => [m.ref, m.type, m.embedding])).toEqual([
        [claude, "anthropic", false],
        [gpt, "openai", false],
        ["openai/text-embedding-3-small", "openai", true],
        [llama, "lmstudio", false]
      ])
      expect(router.models[0].contextWindow).toBe(200_000)
    }).pipe(Effect.scoped))

  it.effect("ModelRouter.layer reads LLMConfig", () =>
    Effect.gen(function*() {
      const router = yield* ModelRouter
      expect((yield* router.plan({ prompt: "x", taskType: "analysis" })).candidates[0].ref).toBe(claude)
      expect((yield* router.generate({ prompt: "x", model: "gpt-4o-mini" })).ref).toBe(gpt)
    }).pipe(
      Effect.provide(
        ModelRouter.layer.pipe(
          Layer.provide(LLMConfig.layerTest(gatewayConfig(seedProviders, { strategy: "performance" }))),
          Layer.provide(scripted([{ provider: "openai" }]).layer),
          Layer.provide(ModelRouter.layerMemoryStores)
        )
      )
    ))
})
