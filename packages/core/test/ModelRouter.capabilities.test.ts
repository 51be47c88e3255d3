/**
 * Capability planning (issue 13, notes/rich-messages.md §4): a request with a part or field a
 * model cannot take (catalog/config `capabilities`, plus its provider type's `limits`) skips that
 * model when routed, and is a 400 naming the part when the caller named the model — no fallback.
 * The config goes through `loadConfig` with the built-in definitions, so the provider limits
 * (llama.cpp: no images, audio or PDFs; Anthropic: no audio) are the ones the gateway ships.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { LLMRequest } from "../src/domain/Domain.ts"
import { loadConfig } from "../src/config/LLMConfig.ts"
import { builtinProviders } from "./builtinDefinitions.ts"
import { makeRouter, scripted } from "./router/fixtures.ts"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

const withImage = (model: string, extra: Partial<LLMRequest> = {}): LLMRequest => ({
  model,
  messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "file", mediaType: "image/png", data: png }] }],
  ...extra
})

const config = loadConfig({
  providers: builtinProviders,
  mergeEnv: false,
  input: {
    providers: [
      { name: "local", type: "llamacpp", modelPath: "/models/stories260K.gguf", models: [{ id: "stories260K" }] },
      {
        name: "openai",
        type: "openai",
        apiKey: "sk-test",
        models: [{ id: "gpt-4o-mini" }, { id: "gpt-3.5-turbo", capabilities: { vision: false, tools: false } }]
      },
      { name: "anthropic", type: "anthropic", apiKey: "sk-ant-test", models: [{ id: "claude-3-haiku-20240307" }] }
    ],
    routing: {
      strategy: "cost",
      maxRetries: 0,
      tasks: { general: ["local/stories260K", "openai/gpt-3.5-turbo", "openai/gpt-4o-mini"] }
    }
  }
})

const setup = Effect.gen(function*() {
  const c = yield* config
  const { clients, layer } = scripted([{ provider: "local" }, { provider: "openai" }, { provider: "anthropic" }])
  const router = yield* makeRouter(c, layer)
  return { config: c, clients, router }
})

describe("ModelRouter: capability planning", () => {
  it.effect("provider limits are written into every model entry of the type", () =>
    Effect.gen(function*() {
      const c = yield* config
      const caps = (name: string) => c.providers.find((p) => p.name === name)!.models[0].capabilities
      expect(caps("local")).toEqual({ vision: false, audio: false, pdf: false })
      expect(caps("anthropic")).toEqual({ audio: false })
      expect(caps("openai")).toBeUndefined()
    }))

  it.effect("a named llama.cpp model and an image: 400 naming the part, no call, no fallback", () =>
    Effect.gen(function*() {
      const { clients, router } = yield* setup
      const e = yield* Effect.flip(router.generate(withImage("local/stories260K")))
      expect(e._tag).toBe("InvalidRequest")
      expect(e._tag === "InvalidRequest" && e.param).toBe("messages[0].content[1]")
      expect(e.message).toBe("messages[0].content[1]: image input is not supported by local/stories260K")
      expect([clients.local.calls.length, clients.openai.calls.length, clients.anthropic.calls.length]).toEqual([0, 0, 0])
    }).pipe(Effect.scoped))

  it.effect("auto with an image skips the incapable candidates; the attempts say why", () =>
    Effect.gen(function*() {
      const { clients, router } = yield* setup
      const r = yield* router.generate(withImage("auto"))
      expect(`${r.provider}/${r.model}`).toBe("openai/gpt-4o-mini")
      expect(r.attempts.map((a) => [a.model, a.outcome])).toEqual([
        ["local/stories260K", "skipped:Unsupported"],
        ["openai/gpt-4o-mini", "ok"]
      ])
      expect(clients.local.calls.length).toBe(0)
      // gpt-3.5-turbo (vision: false in its entry) is out of the plan, not merely ranked later
      const plan = yield* router.plan(withImage("auto"))
      expect(plan.candidates.map((c) => c.ref)).toEqual(["openai/gpt-4o-mini"])
      expect(plan.excluded.map((x) => [x.ref, x.reason, x.need?.param])).toEqual([
        ["local/stories260K", "unsupported", "messages[0].content[1]"],
        ["openai/gpt-3.5-turbo", "unsupported", "messages[0].content[1]"]
      ])
    }).pipe(Effect.scoped))

  it.effect("the same request as text only routes as before (the cheapest, llama.cpp)", () =>
    Effect.gen(function*() {
      const { router } = yield* setup
      const r = yield* router.generate({ model: "auto", prompt: "hi" })
      expect(`${r.provider}/${r.model}`).toBe("local/stories260K")
      expect(r.attempts.map((a) => a.outcome)).toEqual(["ok"])
    }).pipe(Effect.scoped))

  it.effect("a config capability (tools: false) is skipped for a request with tools, kept when tool choice is none", () =>
    Effect.gen(function*() {
      const { router } = yield* setup
      const tools = [{ name: "lookup", parameters: { type: "object", properties: {} } }]
      const r = yield* router.generate({ model: "auto", taskType: "general", prompt: "hi", tools, preferences: { strategy: "performance" } })
      expect(r.attempts.find((a) => a.model === "openai/gpt-3.5-turbo")?.outcome ?? "not tried").not.toBe("ok")
      const named = yield* Effect.flip(router.generate({ model: "openai/gpt-3.5-turbo", prompt: "hi", tools }))
      expect(named.message).toBe("tools: tools are not supported by openai/gpt-3.5-turbo")
      const none = yield* router.generate({ model: "openai/gpt-3.5-turbo", prompt: "hi", tools, toolChoice: "none" })
      expect(none.model).toBe("gpt-3.5-turbo")
    }).pipe(Effect.scoped))

  it.effect("audio to a named Anthropic model is refused; when no candidate can take it, a 400 too", () =>
    Effect.gen(function*() {
      const { router } = yield* setup
      const audio: LLMRequest = {
        messages: [{ role: "user", content: [{ type: "file", mediaType: "audio/wav", data: "UklGRg==" }] }]
      }
      const e = yield* Effect.flip(router.generate({ ...audio, model: "anthropic/claude-3-haiku-20240307" }))
      expect(e.message).toBe("messages[0].content[0]: audio input is not supported by anthropic/claude-3-haiku-20240307")
      // general's candidates with audio: llama.cpp cannot, gpt-3.5-turbo unknown → capable, gpt-4o-mini unknown
      const routed = yield* router.generate({ ...audio, model: "auto" })
      expect(routed.attempts[0]).toEqual({ model: "local/stories260K", outcome: "skipped:Unsupported", ms: 0 })
      // only llama.cpp configured: nobody can take the part, a 400 naming it (not a 503)
      const onlyLocal = yield* loadConfig({
        providers: builtinProviders,
        mergeEnv: false,
        input: { providers: [{ name: "local", type: "llamacpp", modelPath: "/models/stories260K.gguf", models: [{ id: "stories260K" }] }] }
      })
      const { clients, layer } = scripted([{ provider: "local" }])
      const alone = yield* makeRouter(onlyLocal, layer)
      const refused = yield* Effect.flip(alone.generate({ ...withImage("auto") }))
      expect(refused._tag).toBe("InvalidRequest")
      expect(refused.message).toBe("messages[0].content[1]: image input is not supported by local/stories260K")
      expect(clients.local.calls.length).toBe(0)
    }).pipe(Effect.scoped))
})
