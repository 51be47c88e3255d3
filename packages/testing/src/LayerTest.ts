/**
 * A whole gateway for a user's tests, in one call: the real `LLMManager`, router, cache and
 * accounting over scripted provider clients — no network, no keys, no files.
 *
 * ```ts
 * import { LLMManager } from "llm-gateway"
 * import { layerTest } from "@llm-gateway/testing/LayerTest"   // also "llm-gateway/testing"
 *
 * const program = Effect.gen(function*() {
 *   const manager = yield* LLMManager
 *   return (yield* manager.generate({ prompt: "hi" })).content
 * })
 * await Effect.runPromise(Effect.provide(program, layerTest({ responses: ["first answer", "second answer"] })))
 * ```
 *
 * Differences from a configured gateway, so answers come back in the order scripted: the cache
 * is off unless `config.cache.enabled` says otherwise, and conversations live in memory.
 */
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import { CacheL2 } from "@llm-gateway/core/cache/CacheL2"
import { CacheService } from "@llm-gateway/core/cache/CacheService"
import { Embedder } from "@llm-gateway/core/cache/Embedder"
import { ConversationStorage } from "@llm-gateway/core/conversations/ConversationStorage"
import { type GatewayConfigInput, LLMConfig, loadConfig, resolveBareModel } from "@llm-gateway/core/config/LLMConfig"
import type { ProviderSpec } from "@llm-gateway/core/config/ProviderSpec"
import { LLMManager } from "@llm-gateway/core/manager/LLMManager"
import { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import { ModelRouter } from "@llm-gateway/core/routing/ModelRouter"
import { UsageAccounting } from "@llm-gateway/core/accounting/UsageAccounting"
import { Effect, Layer } from "effect"
import { makeScriptedClient, Scripted, type ScriptedCall } from "./ScriptedModelClient.ts"

type Script = ReadonlyArray<Scripted> | ((call: ScriptedCall) => Scripted)

export interface LayerTestOptions {
  /**
   * Answers in order, across every request of the program (generate, stream, chat); streamed
   * answers arrive word by word. When they run out, the last one repeats.
   */
  readonly responses?: ReadonlyArray<string> | undefined
  /**
   * Outcomes for finer control (errors, delays, hangs; `Scripted` in ScriptedModelClient.ts):
   * one script every provider shares, or one per provider name. Wins over `responses`.
   */
  readonly script?: Script | Readonly<Record<string, Script>> | undefined
  /**
   * A config in the YAML file's shape (providers, routing, …). Default: one provider `test` with
   * chat model `test/scripted` and embedding model `test/scripted-embedding`.
   */
  readonly config?: GatewayConfigInput | undefined
  /**
   * Provider definitions the config knows (catalog rows, families, bare-id rules). Default none
   * here (this package depends on core only); `llm-gateway/testing` passes the built-in ones.
   */
  readonly providers?: ReadonlyArray<ProviderSpec> | undefined
}

/** What `layerTest` provides: the manager and the services behind it. */
export type TestGatewayServices = LLMManager | ModelRouter | ModelClients | CacheService | ConversationStorage | UsageAccounting | LLMConfig

export interface TestGateway {
  readonly layer: Layer.Layer<TestGatewayServices>
  /** Every call the scripted clients received, in order (provider, method, model, request). */
  readonly calls: () => ReadonlyArray<ScriptedCall & { readonly provider: string }>
}

/** The default config: the base URL is never dialled (the client is scripted), only validated. */
const defaultConfig: GatewayConfigInput = {
  providers: [{
    name: "test",
    type: "openai-compatible",
    baseUrl: "http://127.0.0.1:9/v1",
    models: [{ id: "scripted", contextWindow: 128000 }, { id: "scripted-embedding", embedding: true }]
  }]
}

/** Word-sized chunks (each keeps its trailing space), so a streaming UI sees several deltas. */
const words = (text: string): ReadonlyArray<string> => text.match(/\S+\s*|\s+/g) ?? []

const fromResponses = (responses: ReadonlyArray<string>): Script => {
  let next = 0
  return () => {
    const text = responses.length === 0 ? "" : responses[Math.min(next++, responses.length - 1)]
    return Scripted.chunks(words(text))
  }
}

const isScript = (s: LayerTestOptions["script"]): s is Script => typeof s === "function" || Array.isArray(s)

const withTestDefaults = (input: GatewayConfigInput): GatewayConfigInput => ({
  ...input,
  cache: { enabled: false, ...input.cache },
  conversations: { store: "memory" }
})

/** `layerTest` plus the record of what the scripted clients were asked. */
export const makeTestGateway = (options: LayerTestOptions = {}): TestGateway => {
  const calls: Array<ScriptedCall & { readonly provider: string }> = []
  const build = (config: GatewayConfig) => {
    // Per build (each test that builds the layer starts from the first response); one script
    // shared by every provider keeps `responses` in program order across providers.
    const shared = fromResponses(options.responses ?? ["scripted answer"])
    const scriptFor = (provider: string): Script => {
      const s = options.script
      if (s === undefined) return shared
      if (isScript(s)) return s
      return Object.hasOwn(s, provider) ? s[provider] : fromResponses([`${provider}: no script`])
    }
    const clients = config.providers.map((p) => {
      const script = scriptFor(p.name)
      return makeScriptedClient({
        provider: p.name,
        type: p.type,
        script: (call) => {
          calls.push({ ...call, provider: p.name })
          // Embeddings are computed, not scripted: they do not use up `responses`.
          if (call.method === "embed" && options.script === undefined) return Scripted.ok()
          return typeof script === "function" ? script(call) : script[Math.min(call.index, script.length - 1)] ?? Scripted.ok()
        }
      }).client
    })
    const specs = options.providers ?? []
    const router = ModelRouter.layerFrom(config, { resolveBareModel: (c, id) => resolveBareModel(c, id, specs) }).pipe(
      Layer.provideMerge(ModelClients.layerFrom(clients)),
      Layer.provide(ModelRouter.layerMemoryStores)
    )
    const services = Layer.mergeAll(
      router,
      CacheService.layer(config.cache).pipe(Layer.provide(Layer.merge(CacheL2.layerNone, Embedder.layerNone))),
      ConversationStorage.layerMemory({ ttlSeconds: config.conversations.ttlSeconds }),
      UsageAccounting.layerMemory,
      LLMConfig.layerTest(config)
    )
    return LLMManager.layerNoDeps.pipe(Layer.provideMerge(services))
  }
  const layer = Layer.unwrap(
    Effect.map(loadConfig({ input: withTestDefaults(options.config ?? defaultConfig), mergeEnv: false, providers: options.providers }), build)
  ).pipe(Layer.orDie)
  return { layer, calls: () => calls }
}

/**
 * A full manager over scripted clients: `layerTest({ responses: ["first", "second"] })` answers
 * the program's requests with those strings in order. A bad `config` is a defect (the test's bug).
 */
export const layerTest = (options: LayerTestOptions = {}): Layer.Layer<TestGatewayServices> => makeTestGateway(options).layer
