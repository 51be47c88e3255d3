/**
 * Config and router builders for the router tests.
 */
import { Effect, Layer } from "effect"
import { inject } from "vitest"
import type { CircuitBreaker, RateLimiter } from "effect/persistence"
import type { GatewayConfig, ModelEntry, ProviderConfig, RoutingConfig } from "../../src/config/ConfigSchema.ts"
import { resolveBareModel } from "../../src/config/LLMConfig.ts"
import { ModelClients } from "../../src/providers/ModelClients.ts"
import { builtinProviders, familyOfType } from "../builtinDefinitions.ts"
import { ModelRouter, type ModelRouterOptions } from "../../src/routing/ModelRouter.ts"
import { makeScriptedClient, type ScriptedClient, type ScriptedClientOptions } from "@llm-gateway/testing/ScriptedModelClient"

export const provider = (
  name: string,
  type: ProviderConfig["type"],
  models: ReadonlyArray<ModelEntry | string>,
  extra: Partial<ProviderConfig> = {}
): ProviderConfig => ({
  name,
  type,
  // as the config fills it from the type's definition
  ...(familyOfType(type) === undefined ? {} : { family: familyOfType(type) }),
  models: models.map((m) => (typeof m === "string" ? { id: m } : m)),
  ...extra
})

export const routing = (overrides: Partial<RoutingConfig> = {}): RoutingConfig => ({
  strategy: "balanced",
  fallbackOrder: [],
  tasks: {},
  maxRetries: 2,
  timeoutMs: 30_000,
  attemptTimeoutMs: 10_000,
  loadBalancing: "round-robin",
  circuitBreaker: { failureThreshold: 5, successThreshold: 2, openMs: 60_000 },
  ...overrides
})

export const gatewayConfig = (
  providers: ReadonlyArray<ProviderConfig>,
  routingOverrides: Partial<RoutingConfig> = {}
): GatewayConfig => ({
  server: { host: "127.0.0.1", port: 0, apiKeys: [], maxBodyBytes: 1_048_576 },
  providers,
  routing: routing(routingOverrides),
  cache: { enabled: false, ttlSeconds: 60, maxSize: 10, semantic: { enabled: false, threshold: 0.95 } },
  conversations: { store: "memory" }
})

/** The three providers of seed 003 with one or two models each. */
export const seedProviders = [
  provider("claude", "anthropic", [
    { id: "claude-3-haiku-20240307", contextWindow: 200_000, inputCostPer1M: 0.25, outputCostPer1M: 1.25 }
  ]),
  provider("openai", "openai", [
    { id: "gpt-4o-mini", contextWindow: 128_000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 },
    { id: "text-embedding-3-small", embedding: true }
  ]),
  provider("lmstudio", "lmstudio", [{ id: "llama-3.1-8b", contextWindow: 8_192 }])
]

/**
 * The project `core-self-timed` (vitest.selfTimed.config.ts) runs the router's tests again with
 * clients that bound their own calls, as the OpenAI client does: the router then takes its fused
 * path for a first attempt (routing/internal/Generate), and every rule must read the same there.
 */
const selfTimed = inject("selfTimedClients") === true

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by vitest.selfTimed.config.ts. */
    selfTimedClients?: boolean
  }
}

/** Scripted clients for providers, and a router over them. */
export const scripted = (
  specs: ReadonlyArray<ScriptedClientOptions>
): { readonly clients: Record<string, ScriptedClient>; readonly layer: Layer.Layer<ModelClients> } => {
  const clients: Record<string, ScriptedClient> = {}
  for (const s of specs) clients[s.provider] = makeScriptedClient({ enforcesTimeout: selfTimed, ...s })
  return { clients, layer: ModelClients.layerFrom(Object.values(clients).map((c) => c.client)) }
}

/** Builds a router in the current scope, on this instance's memory stores unless `stores` are given. */
export const makeRouter = (
  config: GatewayConfig,
  clients: Layer.Layer<ModelClients>,
  options: ModelRouterOptions = {},
  stores: Layer.Layer<CircuitBreaker.CircuitBreakerStore | RateLimiter.RateLimiterStore> = ModelRouter.layerMemoryStores
) =>
  ModelRouter.make(config, {
    seed: 1,
    resolveBareModel: (c, id) => resolveBareModel(c, id, builtinProviders),
    ...options
  }).pipe(Effect.provide(Layer.merge(clients, stores)))
