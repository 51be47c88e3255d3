import { describe, expect, it } from "@effect/vitest"
import { builtinProviders, rowsOf } from "./builtinDefinitions.ts"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { LLMConfig, loadConfig } from "../src/config/LLMConfig.ts"

const dir = mkdtempSync(join(tmpdir(), "llm-config-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const yamlFile = (text: string): string => {
  const file = join(dir, `config-${n++}.yaml`)
  writeFileSync(file, text)
  return file
}

const current = Effect.gen(function*() {
  return yield* LLMConfig
})
const fails = (options: Parameters<typeof loadConfig>[0]) => Effect.flip(loadConfig({ providers: builtinProviders, ...options }))

const designExample = `
server: { host: 127.0.0.1, port: 8080, apiKeys: ["\${GATEWAY_API_KEY}"], maxBodyBytes: 1048576 }
providers:
  - name: openai
    type: openai
    baseUrl: http://\${UPSTREAM_HOST:-127.0.0.1}:9100/v1
    apiKey: \${OPENAI_API_KEY}
    rpm: 600
    tpm: 1000000
    models:
      - { id: gpt-4o-mini, contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }
      - { id: text-embedding-3-small, embedding: true }
  - name: anthropic
    type: anthropic
    apiKey: \${ANTHROPIC_KEY:-sk-ant-default}
    models: [{ id: claude-3-haiku-20240307 }]
routing:
  strategy: cost
  fallbackOrder: [openai/gpt-4o-mini, anthropic/claude-3-haiku-20240307]
  tasks: { analysis: [anthropic/claude-3-haiku-20240307, openai/gpt-4o-mini] }
  maxRetries: 2
  timeoutMs: \${CHAIN_TIMEOUT:-45000}
cache: { enabled: false, semantic: { enabled: true, threshold: 0.9, model: openai/text-embedding-3-small } }
conversations: { store: memory }
`

describe("LLMConfig from a YAML file", () => {
  it.effect("interpolates ${VAR} and ${VAR:-default}, fills defaults, and reads numbers from references", () =>
    Effect.gen(function*() {
      const file = yamlFile(designExample)
      const config = yield* loadConfig({ providers: builtinProviders,  file, env: { GATEWAY_API_KEY: "gw-key-1", OPENAI_API_KEY: "sk-test-openai" } })
      expect(config.server.port).toBe(8080)
      expect(config.server.apiKeys.map(Redacted.value)).toEqual(["gw-key-1"])
      const [openai, anthropic] = config.providers
      expect(openai.baseUrl).toBe("http://127.0.0.1:9100/v1")
      expect(openai.apiKey && Redacted.value(openai.apiKey)).toBe("sk-test-openai")
      expect(anthropic.apiKey && Redacted.value(anthropic.apiKey)).toBe("sk-ant-default")
      // the catalog fills what the file leaves out
      expect(openai.models[1]).toMatchObject({ id: "text-embedding-3-small", embedding: true, inputCostPer1M: 0.02 })
      expect(anthropic.models[0]).toMatchObject({ contextWindow: 200000, inputCostPer1M: 0.25, outputCostPer1M: 1.25 })
      expect(config.routing).toMatchObject({ strategy: "cost", maxRetries: 2, timeoutMs: 45000, attemptTimeoutMs: 10000 })
      expect(config.routing.circuitBreaker).toEqual({ failureThreshold: 5, successThreshold: 2, openMs: 60000 })
      expect(config.cache).toEqual({
        enabled: false,
        ttlSeconds: 3600,
        maxSize: 1000,
        semantic: { enabled: true, threshold: 0.9, model: "openai/text-embedding-3-small" }
      })
      expect(config.conversations).toEqual({ store: "memory" })
    }))

  it.effect("a variable set in env overrides the default of ${VAR:-default}; $${ is a literal", () =>
    Effect.gen(function*() {
      const file = yamlFile(`
server: { host: "\${HOST:-0.0.0.0}", port: "\${PORT:-1}" }
providers: [{ name: "odd", type: openai-compatible, baseUrl: "http://h/v1", models: [{ id: "price-$\${X}" }] }]
`)
      const config = yield* loadConfig({ providers: builtinProviders,  file, env: { HOST: "10.0.0.7", PORT: "9999" } })
      expect(config.server.host).toBe("10.0.0.7")
      expect(config.server.port).toBe(9999)
      expect(config.providers[0].models[0].id).toBe("price-${X}")
    }))

  it.effect("an unset variable without a default names the YAML path and the variable", () =>
    Effect.gen(function*() {
      const file = yamlFile(designExample)
      const error = yield* fails({ file, env: { GATEWAY_API_KEY: "k" } })
      expect(error._tag).toBe("ConfigurationError")
      expect(error.path).toBe("providers[0].apiKey")
      expect(error.message).toContain("OPENAI_API_KEY")
    }))

  it.effect("LLMConfig.layer reads the file named by LLM_GATEWAY_CONFIG; layerFile takes a path", () =>
    Effect.gen(function*() {
      const file = yamlFile("routing: { strategy: performance }\nconversations: { store: memory }\n")
      const env = ConfigProvider.fromEnv({ env: { LLM_GATEWAY_CONFIG: file } })
      const viaEnv = yield* current.pipe(
        Effect.provide(LLMConfig.layer(builtinProviders).pipe(Layer.provide(ConfigProvider.layer(env))))
      )
      expect(viaEnv.routing.strategy).toBe("performance")
      const viaPath = yield* current.pipe(
        Effect.provide(LLMConfig.layerFile(file, builtinProviders).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} })))))
      )
      expect(viaPath.conversations.store).toBe("memory")
      expect(viaPath.providers).toEqual([])
    }))

  it.effect("a missing file and broken YAML are ConfigurationErrors that point at the file", () =>
    Effect.gen(function*() {
      const missing = yield* fails({ file: join(dir, "nope.yaml"), env: {} })
      expect(missing.path).toBe(join(dir, "nope.yaml"))
      expect(missing.message).toContain("not found")
      const file = yamlFile("server:\n  port: 1\nproviders: [ { name: a\n")
      const broken = yield* fails({ file, env: {} })
      expect(broken.path).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+$`))
      expect(broken.message).toContain("invalid YAML")
    }))

  describe("invalid values name the path", () => {
    const base = "conversations: { store: memory }\n"
    it.effect("routing.strategy: fast", () =>
      Effect.gen(function*() {
        const error = yield* fails({ file: yamlFile(`${base}routing: { strategy: fast }\n`), env: {} })
        expect(error.path).toBe("routing.strategy")
        expect(error.message).toContain('got "fast"')
        expect(error.message).toContain('"balanced"')
      }))
    it.effect("server.port: -1", () =>
      Effect.gen(function*() {
        const error = yield* fails({ file: yamlFile(`${base}server: { port: -1 }\n`), env: {} })
        expect(error.path).toBe("server.port")
        expect(error.message).toContain("65535")
      }))
    it.effect("providers[1].type: foo", () =>
      Effect.gen(function*() {
        const error = yield* fails({
          file: yamlFile(`${base}providers:
  - { name: a, type: ollama, baseUrl: "http://127.0.0.1:11434", models: [] }
  - { name: b, type: foo, models: [] }
`),
          env: {}
        })
        expect(error.path).toBe("providers[1].type")
        expect(error.message).toContain('got "foo"')
      }))
    it.effect("several problems are reported together; a snake_case key gets a hint", () =>
      Effect.gen(function*() {
        const error = yield* fails({ file: yamlFile(`${base}routing: { max_retries: 2, timeoutMs: 0 }\n`), env: {} })
        expect(error.path).toBe("routing.max_retries")
        expect(error.message).toContain("did you mean maxRetries?")
        expect(error.message).toContain("routing.timeoutMs")
      }))
  })

  describe("semantic checks", () => {
    const check = (yaml: string, path: string, fragment: string) =>
      Effect.gen(function*() {
        const error = yield* fails({ file: yamlFile(yaml), env: {} })
        expect(error._tag).toBe("ConfigurationError")
        expect(error.path).toBe(path)
        expect(error.message).toContain(fragment)
      })
    it.effect("duplicate provider names", () =>
      check(
        "providers: [{ name: a, type: openai, models: [] }, { name: a, type: anthropic, models: [] }]\n",
        "providers[1].name",
        "duplicate"
      ))
    it.effect("routes naming an unknown provider", () =>
      check(
        "providers: [{ name: openai, type: openai }]\nrouting: { fallbackOrder: [opneai/gpt-4o] }\n",
        "routing.fallbackOrder[0]",
        '"opneai"'
      ))
    it.effect("task routes naming an unknown provider", () =>
      check(
        "providers: [{ name: openai, type: openai }]\nrouting: { tasks: { analysis: [openai/gpt-4o, nope/x] } }\n",
        "routing.tasks.analysis[1]",
        "unknown provider"
      ))
    it.effect("self-hosted types need a baseUrl", () =>
      check("providers: [{ name: o, type: ollama, models: [{ id: llama3.2 }] }]\n", "providers[0].baseUrl", "needs a baseUrl"))
    it.effect("azure-openai needs a baseUrl", () =>
      check("providers: [{ name: az, type: azure-openai, models: [] }]\n", "providers[0].baseUrl", "needs a baseUrl"))
    it.effect("llamacpp needs a modelPath", () =>
      check("providers: [{ name: l, type: llamacpp, models: [] }]\n", "providers[0].modelPath", "modelPath"))
    it.effect("an empty server API key", () =>
      check('server: { apiKeys: [ok-key, "${GATEWAY_KEY:-}"] }\n', "server.apiKeys[1]", "empty"))
    it.effect("postgres conversations need a url", () =>
      check("conversations: { store: postgres }\n", "conversations.url", "DATABASE_URL"))
  })

  it.effect("bare ids in the file resolve to the provider that lists them", () =>
    Effect.gen(function*() {
      const config = yield* loadConfig({ providers: builtinProviders, 
        env: {},
        input: {
          providers: [
            { name: "openai", type: "openai", models: [{ id: "gpt-4o-mini" }] },
            { name: "ollama", type: "ollama", baseUrl: "http://127.0.0.1:11434", models: [{ id: "llama3.2" }] }
          ],
          routing: { fallbackOrder: ["llama3.2", "gpt-4o-mini", "gpt-4.1"] }
        }
      })
      expect(config.routing.fallbackOrder).toEqual(["ollama/llama3.2", "openai/gpt-4o-mini", "openai/gpt-4.1"])
      // a routed id the provider did not list is added, with catalog prices
      expect(config.providers[0].models.map((m) => m.id)).toEqual(["gpt-4o-mini", "gpt-4.1"])
      expect(config.providers[0].models[1].inputCostPer1M).toBe(2)
    }))
})
