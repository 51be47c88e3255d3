/**
 * A provider defined only here, outside the project's packages, with `defineProvider`: an
 * OpenAI-wire upstream (the real `openai` SDK against a loopback fake) under its own `type`.
 * Plugged in with `makeLLMManager(config, { providers })`, its config entries route, fall back,
 * are rate-limited and priced like a built-in provider's.
 */
import { describe, expect, it } from "@effect/vitest"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { defineProvider, lazyMake, makeLLMManager } from "../src/index.ts"

const acmeProvider = defineProvider({
  type: "acme",
  family: "local",
  models: [{ id: "acme-1", contextWindow: 32_000, inputCostPer1M: 1, outputCostPer1M: 2 }],
  // Acme speaks OpenAI's wire format: reuse the OpenAI client, imported only when acme is configured.
  make: lazyMake(
    () => import("@llm-gateway/openai/OpenAIClient"),
    (m, config) => m.makeOpenAIClient({ ...config, type: "openai-compatible" })
  )
})

let acme: FakeOpenAI
let backup: FakeOpenAI
beforeAll(async () => {
  acme = await startFakeOpenAI({ reply: "from acme" })
  backup = await startFakeOpenAI({ reply: "from backup" })
})
afterAll(async () => {
  await acme.close()
  await backup.close()
})

const chatCalls = (fake: FakeOpenAI) => fake.server.requests.filter((r) => r.path.endsWith("/chat/completions")).length

const config = (acmeExtra: Record<string, unknown> = {}) => ({
  providers: [
    { name: "acme", type: "acme", baseUrl: acme.baseUrl, apiKey: "acme-key", ...acmeExtra },
    { name: "backup", type: "openai-compatible", baseUrl: backup.baseUrl, models: [{ id: "gpt-4o-mini" }] }
  ],
  routing: { maxRetries: 0, fallbackOrder: ["acme/acme-1", "backup/gpt-4o-mini"] },
  cache: { enabled: false },
  conversations: { store: "memory" }
})

const withManager = <A, E>(
  input: Record<string, unknown>,
  f: (m: Effect.Success<ReturnType<typeof makeLLMManager>>) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(makeLLMManager(input as never, { providers: [acmeProvider] }), f))

describe("a plug-in provider (defineProvider, defined in this test only)", () => {
  it.live("without its definition the type is a configuration error naming the path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(makeLLMManager(config() as never)))
      expect(error).toMatchObject({ _tag: "ConfigurationError", path: "providers[0].type" })
    }))

  it.live("routes auto to it (family local), with its catalog's models and prices", () =>
    withManager({ ...config(), routing: { maxRetries: 0 } }, (manager) =>
      Effect.gen(function*() {
        const before = chatCalls(acme)
        const res = yield* manager.generate({ prompt: "hello" })
        expect([res.provider, res.model, res.content]).toEqual(["acme", "acme-1", "from acme"])
        expect(chatCalls(acme)).toBe(before + 1)
        // 1 USD / 1M in, 2 USD / 1M out, from the definition's catalog row
        const expected = (res.usage.promptTokens * 1 + res.usage.completionTokens * 2) / 1_000_000
        expect(res.costUsd).toBeGreaterThan(0)
        expect(res.costUsd).toBeCloseTo(expected, 12)
      })))

  it.live("falls back to the next provider when it fails", () =>
    withManager(config(), (manager) =>
      Effect.gen(function*() {
        acme.enqueueFault({ kind: "status", status: 503 })
        const res = yield* manager.generate({ prompt: "fall back please" })
        expect([res.provider, res.content]).toEqual(["backup", "from backup"])
        expect(res.attempts.map((a) => [a.model, a.outcome])).toEqual([
          ["acme/acme-1", "ModelUnavailable"],
          ["backup/gpt-4o-mini", "ok"]
        ])
      })))

  it.live("its rpm limit holds: over it, requests go to the next candidate", () =>
    withManager(config({ rpm: 1 }), (manager) =>
      Effect.gen(function*() {
        const first = yield* manager.generate({ prompt: "one" })
        const second = yield* manager.generate({ prompt: "two" })
        expect([first.provider, second.provider]).toEqual(["acme", "backup"])
      })))
})
