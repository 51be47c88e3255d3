import { describe, expect, it } from "@effect/vitest"
import { builtinProviders, rowsOf } from "./builtinDefinitions.ts"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import type { GatewayConfig, ProviderConfig } from "../src/config/ConfigSchema.ts"
import { LLMConfig, loadConfig, resolveBareModel } from "../src/config/LLMConfig.ts"

const fromEnv = (env: Record<string, string>) => loadConfig({ providers: builtinProviders,  env })
const failsWith = (env: Record<string, string>) => Effect.flip(loadConfig({ providers: builtinProviders,  env }))
const provider = (config: GatewayConfig, name: string): ProviderConfig => {
  const p = config.providers.find((x) => x.name === name)
  if (p === undefined) throw new Error(`no provider ${name} in ${config.providers.map((x) => x.name).join(",")}`)
  return p
}
const key = (p: ProviderConfig) => (p.apiKey === undefined ? undefined : Redacted.value(p.apiKey))
const ids = (p: ProviderConfig) => p.models.map((m) => m.id)

describe("LLMConfig from env", () => {
  it.effect("no env: defaults only", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({})
      expect(config.providers).toEqual([])
      expect(config.server).toMatchObject({ host: "127.0.0.1", port: 8080, apiKeys: [], maxBodyBytes: 1048576 })
      expect(config.routing).toMatchObject({ strategy: "balanced", fallbackOrder: [], tasks: {}, maxRetries: 3, timeoutMs: 30000 })
      expect(config.routing.loadBalancing).toBe("round-robin")
      expect(config.cache).toEqual({ enabled: true, ttlSeconds: 3600, maxSize: 1000, semantic: { enabled: false, threshold: 0.95 } })
      expect(config.conversations).toEqual({ store: "sqlite", path: ".data/conversations.db" })
      expect(config.redis).toBeUndefined()
    }))

  describe("the generic BYOK set (seeds 000-002)", () => {
    it.effect("LLM_PROVIDER/LLM_API_KEY/LLM_MODEL make a provider with the catalog and the named model first", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv({ LLM_PROVIDER: "openai", LLM_API_KEY: "sk-generic", LLM_MODEL: "gpt-4o" })
        const openai = provider(config, "openai")
        expect(openai.type).toBe("openai")
        expect(key(openai)).toBe("sk-generic")
        expect(ids(openai)[0]).toBe("gpt-4o")
        expect(openai.models.find((m) => m.id === "gpt-4o-mini")).toMatchObject({ inputCostPer1M: 0.15, outputCostPer1M: 0.6 })
        expect(openai.models.find((m) => m.id === "text-embedding-3-small")?.embedding).toBe(true)
        expect(config.routing.fallbackOrder).toEqual(["openai/gpt-4o"])
      }))

    it.effect("a full …/chat/completions LLM_BASE_URL is stripped to its base (seed 002, no LLM_PROVIDER)", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv({ LLM_BASE_URL: "https://api.openai.com/v1/chat/completions", LLM_API_KEY: "sk-x" })
        expect(provider(config, "openai").baseUrl).toBe("https://api.openai.com/v1")
        const custom = yield* fromEnv({
          LLM_BASE_URL: "http://llm.internal:8080/v1/chat/completions/",
          LLM_API_KEY: "k",
          LLM_MODEL: "my-model"
        })
        const p = provider(custom, "openai-compatible")
        expect([p.type, p.baseUrl, ids(p)]).toEqual(["openai-compatible", "http://llm.internal:8080/v1", ["my-model"]])
      }))

    it.effect("google means gemini; anthropic keys are recognised; ollama gets its default URL", () =>
      Effect.gen(function*() {
        const gemini = provider(yield* fromEnv({ LLM_PROVIDER: "google", LLM_API_KEY: "g", LLM_MODEL: "gemini-2.0-flash" }), "gemini")
        expect(gemini.baseUrl).toBe("https://generativelanguage.googleapis.com/v1beta/openai")
        expect(gemini.models[0]).toMatchObject({ id: "gemini-2.0-flash", inputCostPer1M: 0.1 })
        const anthropic = provider(yield* fromEnv({ LLM_API_KEY: "sk-ant-abc" }), "anthropic")
        expect(anthropic.type).toBe("anthropic")
        const ollama = provider(yield* fromEnv({ LLM_PROVIDER: "ollama", LLM_MODEL: "llama3.2" }), "ollama")
        expect([ollama.baseUrl, ids(ollama)]).toEqual(["http://127.0.0.1:11434", ["llama3.2"]])
      }))

    it.effect("LLM_ENABLED=false disables the generic set only", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv({ LLM_ENABLED: "false", LLM_PROVIDER: "anthropic", LLM_API_KEY: "x", OLLAMA_MODEL: "qwen" })
        expect(config.providers.map((p) => p.name)).toEqual(["ollama"])
      }))

    it.effect("an unknown LLM_PROVIDER names the variable", () =>
      Effect.gen(function*() {
        const error = yield* failsWith({ LLM_PROVIDER: "mistral", LLM_API_KEY: "x" })
        expect(error.path).toBe("LLM_PROVIDER")
        expect(error.message).toContain("openai-compatible")
      }))
  })

  describe("provider-specific variables (seeds 003-004)", () => {
    it.effect("OpenAI: key, model, base URL and request defaults", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv({
          OPENAI_API_KEY: "sk-openai",
          OPENAI_MODEL: "gpt-3.5-turbo",
          OPENAI_BASE_URL: "http://127.0.0.1:9100/v1/",
          OPENAI_MAX_TOKENS: "4096",
          OPENAI_TEMPERATURE: "0.7"
        })
        const openai = provider(config, "openai")
        expect([key(openai), openai.baseUrl, ids(openai)[0]]).toEqual(["sk-openai", "http://127.0.0.1:9100/v1", "gpt-3.5-turbo"])
        expect(openai.defaults).toEqual({ maxTokens: 4096, temperature: 0.7 })
      }))

    it.effect("Anthropic: CLAUDE_API_KEY over ANTHROPIC_API_KEY, CLAUDE_MODEL", () =>
      Effect.gen(function*() {
        const both = yield* fromEnv({ CLAUDE_API_KEY: "claude", ANTHROPIC_API_KEY: "anthropic", CLAUDE_MODEL: "claude-3-5-haiku-latest" })
        expect(key(provider(both, "anthropic"))).toBe("claude")
        expect(ids(provider(both, "anthropic"))[0]).toBe("claude-3-5-haiku-latest")
        const only = yield* fromEnv({ ANTHROPIC_API_KEY: "anthropic" })
        expect(key(provider(only, "anthropic"))).toBe("anthropic")
        expect(ids(provider(only, "anthropic"))).toContain("claude-3-haiku-20240307")
      }))

    it.effect("Ollama, vLLM (a bare host:port gets /v1) and LM Studio", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv({
          OLLAMA_BASE_URL: "http://localhost:11434",
          OLLAMA_MODEL: "llama3.2",
          VLLM_BASE_URL: "http://localhost:8000",
          VLLM_MODEL: "mixtral-8x7b",
          VLLM_API_KEY: "vllm-key",
          LM_STUDIO_ENDPOINT: "http://localhost:1234/v1"
        })
        expect(provider(config, "ollama")).toMatchObject({ type: "ollama", baseUrl: "http://localhost:11434", models: [{ id: "llama3.2" }] })
        const vllm = provider(config, "vllm")
        expect([vllm.type, vllm.baseUrl, key(vllm), ids(vllm)]).toEqual(["vllm", "http://localhost:8000/v1", "vllm-key", ["mixtral-8x7b"]])
        expect(provider(config, "lmstudio")).toMatchObject({ type: "lmstudio", baseUrl: "http://localhost:1234/v1", models: [] })
      }))

    it.effect("LLM_LOCAL_MODEL_PATH makes the embedded llama.cpp provider `local`", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv({
          LLM_LOCAL_MODEL_PATH: "/models/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
          LLM_LOCAL_THREADS: "4",
          LLM_LOCAL_CONTEXT_LENGTH: "4096"
        })
        expect(provider(config, "local")).toMatchObject({
          type: "llamacpp",
          modelPath: "/models/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
          threads: 4,
          contextLength: 4096,
          models: [{ id: "Qwen2.5-0.5B-Instruct-Q4_K_M", contextWindow: 4096 }]
        })
        expect(config.routing.fallbackOrder).toEqual(["local/Qwen2.5-0.5B-Instruct-Q4_K_M"])
      }))
  })

  it.effect("routing, cache, limits, storage and server variables", () =>
    Effect.gen(function*() {
      const config = yield* loadConfig({ providers: builtinProviders, 
        env: {
          OLLAMA_MODEL: "llama3.2",
          LLM_ROUTING_STRATEGY: "Cost",
          LLM_MAX_RETRIES: "5",
          LLM_TIMEOUT_MS: "60000",
          LLM_CACHE_ENABLED: "no",
          LLM_CACHE_TTL: "24h",
          LLM_CACHE_SIZE: "50",
          LLM_RPM: "60",
          LLM_TPM: "100000",
          REDIS_URL: "redis://127.0.0.1:6379",
          LLM_CONVERSATIONS_STORE: "postgres",
          DATABASE_URL: "postgres://u:p@127.0.0.1:5432/test",
          LLM_GATEWAY_HOST: "0.0.0.0",
          LLM_GATEWAY_PORT: "9090",
          LLM_GATEWAY_API_KEYS: "key-a, key-b,"
        },
        input: {
          providers: [
            { name: "ollama", type: "ollama", baseUrl: "http://127.0.0.1:11434" },
            { name: "vllm", type: "vllm", baseUrl: "http://127.0.0.1:8000/v1", rpm: 5, models: [] }
          ]
        }
      })
      expect(config.routing).toMatchObject({ strategy: "cost", maxRetries: 5, timeoutMs: 60000 })
      expect(config.cache).toMatchObject({ enabled: false, ttlSeconds: 86400, maxSize: 50 })
      // LLM_RPM / LLM_TPM only for providers without their own
      expect([provider(config, "ollama").rpm, provider(config, "ollama").tpm]).toEqual([60, 100000])
      expect([provider(config, "vllm").rpm, provider(config, "vllm").tpm]).toEqual([5, 100000])
      expect(config.redis && Redacted.value(config.redis.url)).toBe("redis://127.0.0.1:6379")
      expect(config.conversations.store).toBe("postgres")
      expect(config.conversations.url && Redacted.value(config.conversations.url)).toBe("postgres://u:p@127.0.0.1:5432/test")
      expect(config.server).toMatchObject({ host: "0.0.0.0", port: 9090 })
      expect(config.server.apiKeys.map(Redacted.value)).toEqual(["key-a", "key-b"])
    }))

  it.effect("LLM_CACHE_TTL_SECONDS wins over LLM_CACHE_TTL; DATABASE_URL alone keeps SQLite", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ LLM_CACHE_TTL_SECONDS: "120", LLM_CACHE_TTL: "3600", DATABASE_URL: "postgres://x@h/db" })
      expect(config.cache.ttlSeconds).toBe(120)
      expect(config.conversations).toEqual({ store: "sqlite", path: ".data/conversations.db" })
    }))

  describe("precedence: YAML > provider-specific env > generic env", () => {
    const env = { LLM_PROVIDER: "openai", LLM_API_KEY: "generic", LLM_MODEL: "gpt-4o", OPENAI_API_KEY: "specific", OPENAI_MODEL: "gpt-4.1-mini" }
    it.effect("specific env over generic env", () =>
      Effect.gen(function*() {
        const openai = provider(yield* fromEnv(env), "openai")
        expect(key(openai)).toBe("specific")
        expect(ids(openai).slice(0, 2)).toEqual(["gpt-4.1-mini", "gpt-4o"])
      }))
    it.effect("the file over both; env fills what the file leaves out; the file owns the provider set", () =>
      Effect.gen(function*() {
        const withKey = yield* loadConfig({ providers: builtinProviders, 
          env: { ...env, CLAUDE_API_KEY: "claude", LLM_ROUTING_STRATEGY: "cost" },
          input: { providers: [{ name: "openai", type: "openai", apiKey: "from-file" }], routing: { strategy: "performance" } }
        })
        expect(withKey.providers.map((p) => p.name)).toEqual(["openai"])
        expect(key(provider(withKey, "openai"))).toBe("from-file")
        expect(withKey.routing.strategy).toBe("performance")
        const withoutKey = yield* loadConfig({ providers: builtinProviders,  env, input: { providers: [{ name: "openai", type: "openai", baseUrl: "http://127.0.0.1:1/v1" }] } })
        expect(key(provider(withoutKey, "openai"))).toBe("specific")
        expect(provider(withoutKey, "openai").baseUrl).toBe("http://127.0.0.1:1/v1")
      }))
    it.effect("an env value the file overrides is not blamed; an env value that is kept is", () =>
      Effect.gen(function*() {
        const ok = yield* loadConfig({ providers: builtinProviders,  env: { LLM_GATEWAY_PORT: "70000" }, input: { server: { port: 8081 } } })
        expect(ok.server.port).toBe(8081)
        const error = yield* Effect.flip(loadConfig({ providers: builtinProviders,  env: { LLM_GATEWAY_PORT: "70000" } }))
        expect(error.path).toBe("LLM_GATEWAY_PORT")
        expect(error.message).toContain("server.port")
      }))
  })

  it.effect("layerFrom(input) takes the object as is: env only answers its ${VAR} references", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.fromEnv({
        env: { REDIS_URL: "redis://127.0.0.1:6379", CLAUDE_API_KEY: "c", LLM_GATEWAY_PORT: "1", UPSTREAM_KEY: "from-env" }
      })
      const layer = LLMConfig.layerFrom({
        providers: [{ name: "up", type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", apiKey: "${UPSTREAM_KEY}", models: [{ id: "m" }] }]
      }).pipe(Layer.provide(ConfigProvider.layer(env)))
      const config = yield* Effect.provide(Effect.gen(function*() {
        return yield* LLMConfig
      }), layer)
      expect(config.providers.map((p) => [p.name, key(p)])).toEqual([["up", "from-env"]])
      expect(config.redis).toBeUndefined()
      expect(config.server.port).toBe(8080)
    }))

  describe("LLM_<TASK>_MODEL_<N>", () => {
    const env = {
      OPENAI_API_KEY: "sk-o",
      CLAUDE_API_KEY: "sk-c",
      LM_STUDIO_ENDPOINT: "http://127.0.0.1:1234/v1",
      OLLAMA_BASE_URL: "http://127.0.0.1:11434",
      LLM_SQL_MODEL_10: "codellama-7b-instruct",
      LLM_SQL_MODEL_2: "TheBloke/sqlcoder-GGUF",
      LLM_SQL_MODEL_1: "sqlcoder-7b-2",
      LLM_GENERAL_MODEL_1: "claude-3-haiku-20240307",
      LLM_GENERAL_MODEL_2: "gpt-3.5-turbo",
      LLM_UI_GENERATION_MODEL_1: "gpt-4o",
      LLM_ANALYSIS_MODEL_1: "ollama/qwen2.5"
    }
    it.effect("orders N numerically, maps task names, resolves bare ids and adds them to the local provider", () =>
      Effect.gen(function*() {
        const config = yield* fromEnv(env)
        expect(config.routing.tasks).toEqual({
          analysis: ["ollama/qwen2.5"],
          general: ["anthropic/claude-3-haiku-20240307", "openai/gpt-3.5-turbo"],
          sql: ["lmstudio/sqlcoder-7b-2", "lmstudio/TheBloke/sqlcoder-GGUF", "lmstudio/codellama-7b-instruct"],
          "ui-generation": ["openai/gpt-4o"]
        })
        expect(ids(provider(config, "lmstudio"))).toEqual(["sqlcoder-7b-2", "TheBloke/sqlcoder-GGUF", "codellama-7b-instruct"])
        expect(ids(provider(config, "ollama"))).toEqual(["qwen2.5"])
      }))
    it.effect("works with a ConfigProvider that holds whole names (fromUnknown) and through the layer", () =>
      Effect.gen(function*() {
        const layer = LLMConfig.layer(builtinProviders).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))
        const config = yield* Effect.provide(Effect.gen(function*() {
          return yield* LLMConfig
        }), layer)
        expect(config.routing.tasks.sql?.[2]).toBe("lmstudio/codellama-7b-instruct")
      }))
    it.effect("a model no configured provider can serve names the variable", () =>
      Effect.gen(function*() {
        const error = yield* failsWith({ CLAUDE_API_KEY: "x", LLM_GENERAL_MODEL_1: "claude-3-haiku-20240307", LLM_GENERAL_MODEL_2: "gpt-4o" })
        expect(error.path).toBe("LLM_GENERAL_MODEL_2")
        expect(error.message).toContain("no openai provider")
      }))
  })

  it("resolveBareModel: listed, then prefix, then the first local provider", () => {
    const view = (...ps: Array<[string, ProviderConfig["type"], Array<string>]>) => ({
      providers: ps.map(([name, type, models]) => ({ name, type, models: models.map((id) => ({ id })) }))
    })
    const config = view(["vllm", "vllm", []], ["ollama", "ollama", ["llama3.2"]], ["openai", "openai", []], ["anthropic", "anthropic", []])
    expect(resolveBareModel(config, "llama3.2", builtinProviders)).toEqual({ provider: "ollama", model: "llama3.2", listed: true })
    expect(resolveBareModel(config, "o3-mini", builtinProviders)?.provider).toBe("openai")
    expect(resolveBareModel(config, "text-embedding-3-small", builtinProviders)?.provider).toBe("openai")
    expect(resolveBareModel(config, "claude-sonnet-4-20250514", builtinProviders)?.provider).toBe("anthropic")
    expect(resolveBareModel(config, "mistral", builtinProviders)).toEqual({ provider: "ollama", model: "mistral", listed: false })
    expect(resolveBareModel(view(["vllm", "vllm", []], ["local", "llamacpp", []]), "phi3", builtinProviders)?.provider).toBe("vllm")
    expect(resolveBareModel(view(["lmstudio", "lmstudio", []], ["ollama", "ollama", []]), "phi3", builtinProviders)?.provider).toBe("lmstudio")
    expect(resolveBareModel(view(["ollama", "ollama", []]), "gpt-4o", builtinProviders)).toBeUndefined()
  })

  describe("invalid env values name the variable", () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ LLM_GATEWAY_PORT: "eighty" }, "LLM_GATEWAY_PORT", "integer"],
      [{ LLM_GATEWAY_PORT: "-1" }, "LLM_GATEWAY_PORT", "65535"],
      [{ LLM_ROUTING_STRATEGY: "fast" }, "LLM_ROUTING_STRATEGY", '"fast"'],
      [{ LLM_CACHE_ENABLED: "maybe" }, "LLM_CACHE_ENABLED", "true or false"],
      [{ LLM_CACHE_TTL: "soon" }, "LLM_CACHE_TTL", "duration"],
      [{ LLM_RPM: "0" }, "LLM_RPM", "positive"],
      [{ LLM_CONVERSATIONS_STORE: "mysql" }, "LLM_CONVERSATIONS_STORE", '"postgres"'],
      [{ OPENAI_API_KEY: "k", OPENAI_TEMPERATURE: "5" }, "OPENAI_TEMPERATURE", "between 0 and 2"],
      [{ OLLAMA_BASE_URL: "http://not a host:11434" }, "OLLAMA_BASE_URL", "URL"]
    ]
    for (const [env, path, fragment] of cases) {
      it.effect(`${Object.keys(env).at(-1)}=${Object.values(env).at(-1)}`, () =>
        Effect.gen(function*() {
          const error = yield* failsWith(env)
          expect(error._tag).toBe("ConfigurationError")
          expect(error.path).toBe(path)
          expect(error.message).toContain(fragment)
        }))
    }
  })
})
