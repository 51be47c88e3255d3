import { describe, expect, it } from "@effect/vitest"
import { builtinProviders, rowsOf } from "./builtinDefinitions.ts"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { afterAll } from "vitest"
import { Effect, Layer, Redacted } from "effect"
import { describeConfig, LLMConfig, loadConfig, maskSecret } from "../src/config/LLMConfig.ts"
import * as ModelCatalog from "../src/config/ModelCatalog.ts"

const CANARY = "sk-proj-CANARY-0123wxyz"
const CANARY_2 = "canary-gateway-key-42"
const CANARY_PW = "canarypassword"

const dir = mkdtempSync(join(tmpdir(), "llm-config-secrets-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const everywhere = (config: unknown): string =>
  [
    String(config),
    JSON.stringify(config),
    inspect(config, { depth: Infinity, showHidden: true }),
    describeConfig(config as never, { allModels: true })
  ].join("\n")

describe("LLMConfig secrets", () => {
  it.effect("a canary key never shows up in String, JSON, inspect or describeConfig", () =>
    Effect.gen(function*() {
      const config = yield* loadConfig({ providers: builtinProviders, 
        env: {
          OPENAI_API_KEY: CANARY,
          REDIS_URL: `redis://:${CANARY_PW}@127.0.0.1:6379`,
          LLM_CONVERSATIONS_STORE: "postgres",
          DATABASE_URL: `postgres://app:${CANARY_PW}@127.0.0.1:5432/test`,
          LLM_GATEWAY_API_KEYS: CANARY_2,
          HEADER_SECRET: CANARY
        },
        input: {
          providers: [
            { name: "openai", type: "openai" },
            {
              name: "proxy",
              type: "openai-compatible",
              baseUrl: "http://127.0.0.1:9000/v1",
              apiKey: "${OPENAI_API_KEY}",
              headers: { "x-upstream-key": "${HEADER_SECRET}" },
              models: [{ id: "m" }]
            }
          ]
        }
      })
      // the secrets are there, behind Redacted
      expect(config.providers.map((p) => p.apiKey && Redacted.value(p.apiKey))).toEqual([CANARY, CANARY])
      expect(Redacted.value(config.providers[1].headers!["x-upstream-key"])).toBe(CANARY)
      const printed = everywhere(config)
      for (const secret of [CANARY, CANARY_2, CANARY_PW]) expect(printed).not.toContain(secret)
      const summary = describeConfig(config)
      expect(summary).toContain("sk-proj-…wxyz")
      expect(summary).toContain("redis://***@127.0.0.1:6379")
      expect(summary).toContain("postgres://***@127.0.0.1:5432/test")
      expect(summary).toContain("headers x-upstream-key")
      expect(summary).toContain("openai/gpt-4o-mini")
    }))

  it.effect("errors about secret fields do not quote the secret", () =>
    Effect.gen(function*() {
      const typeError = yield* Effect.flip(loadConfig({ providers: builtinProviders, 
        env: {},
        input: { server: { apiKeys: [12345678901234] as never, port: "nope" as never } }
      }))
      expect(typeError.path).toBe("server.port")
      expect(typeError.message).toContain('got "nope"')
      expect(typeError.message).toContain("server.apiKeys[0]: Expected string")
      expect(typeError.message).not.toContain("12345678901234")

      const file = join(dir, "broken.yaml")
      writeFileSync(file, `providers:\n  - name: openai\n    apiKey: ${CANARY}\n      type: : openai\n`)
      const parseError = yield* Effect.flip(loadConfig({ providers: builtinProviders,  file, env: {} }))
      expect(parseError.path).toMatch(/broken\.yaml:\d+:\d+$/)
      expect(`${parseError.message} ${String(parseError)} ${inspect(parseError)}`).not.toContain(CANARY)
    }))

  it.effect("errors name the path and the problem, never a value that may be a secret", () =>
    Effect.gen(function*() {
      const flipped = (input: Record<string, unknown>, env: Record<string, string> = {}) =>
        Effect.map(Effect.flip(loadConfig({ providers: builtinProviders,  env, input: input as never })), (e) => `${e.path}: ${e.message} | ${String(e)} | ${inspect(e)}`)
      // a misspelled key: the secret under it is not quoted back
      const misspelled = yield* flipped({
        providers: [{ name: "openai", type: "openai", api_key: CANARY, models: [{ id: "gpt-4o-mini" }] }]
      })
      expect(misspelled).toContain("providers[0].api_key: unknown key")
      expect(misspelled).toContain("did you mean apiKey?")
      expect(misspelled).not.toContain(CANARY)
      // an unknown top-level key, a token in a bad baseUrl, a key pasted as the strategy
      const scattered = yield* flipped({ openai_key: CANARY, routing: { strategy: CANARY } })
      expect(scattered).toContain("openai_key: unknown key")
      expect(scattered).toMatch(/routing\.strategy: Expected "cost" \| "performance" \| "balanced"/)
      const baseUrl = yield* flipped({
        providers: [{ name: "p", type: "openai-compatible", baseUrl: `${CANARY}@proxy`, models: [{ id: "m" }] }]
      })
      expect(baseUrl).toContain("providers[0].baseUrl: expected an http(s) URL")
      for (const e of [scattered, baseUrl]) expect(e).not.toContain("CANARY")
      // the same through env variables
      const strategyEnv = yield* flipped({}, { LLM_ROUTING_STRATEGY: CANARY })
      expect(strategyEnv).toContain("LLM_ROUTING_STRATEGY")
      const rpmEnv = yield* flipped({}, { LLM_RPM: CANARY_2 })
      expect(rpmEnv).toContain("LLM_RPM: expected an integer")
      for (const e of [strategyEnv, rpmEnv]) expect(e).not.toMatch(/CANARY|canary/)
      // a plain setting is still quoted, so the user sees what was wrong
      const setting = yield* flipped({ routing: { strategy: "cheapest" } })
      expect(setting).toContain('got "cheapest"')
    }))

  it.effect("a decoded config (with Redacted values) can be passed back in as input", () =>
    Effect.gen(function*() {
      const first = yield* loadConfig({ providers: builtinProviders,  env: { CLAUDE_API_KEY: CANARY } })
      const again = yield* Effect.provide(
        Effect.gen(function*() {
          return yield* LLMConfig
        }),
        LLMConfig.layerFrom(first).pipe(Layer.fresh)
      )
      expect(again.providers[0].apiKey && Redacted.value(again.providers[0].apiKey)).toBe(CANARY)
      expect(again.providers[0].models).toEqual(first.providers[0].models)
    }))

  it("maskSecret shows at most the last four characters", () => {
    expect(maskSecret("sk-ant-api03-abcd1234")).toBe("sk-ant-…1234")
    expect(maskSecret(Redacted.make("short-key"))).toBe("***")
    expect(maskSecret("0123456789abcdefXYZW")).toBe("…XYZW")
  })

  it("the catalog knows the well-known models with prices and context windows", () => {
    expect(ModelCatalog.lookup("gpt-4o-mini", builtinProviders)).toMatchObject({ contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 })
    expect(ModelCatalog.lookup("gpt-3.5-turbo", builtinProviders)?.contextWindow).toBe(16385)
    expect(ModelCatalog.lookup("claude-3-5-haiku-latest", builtinProviders)).toMatchObject({ inputCostPer1M: 0.8, outputCostPer1M: 4 })
    expect(ModelCatalog.lookup("text-embedding-3-small", builtinProviders)?.embedding).toBe(true)
    expect(ModelCatalog.enrich({ id: "gpt-4o", inputCostPer1M: 1 }, rowsOf("openai"))).toMatchObject({ inputCostPer1M: 1, outputCostPer1M: 10 })
    expect(ModelCatalog.enrich({ id: "gpt-4o" }, rowsOf("ollama"))).toEqual({ id: "gpt-4o" })
  })
})
