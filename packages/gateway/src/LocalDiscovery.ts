/**
 * `pnpm start` with no config: a local Ollama or LM Studio that answers on its usual port joins
 * as a provider, with the models it reports. Probes are short (a closed port answers at once; a
 * hung one costs at most `timeoutMs`) and run in parallel at start-up only.
 */
import type { GatewayConfig, ProviderConfig } from "@llm-gateway/core/config/ConfigSchema"
import { checkLocalModelHealth } from "./LocalModelHealth.ts"
import { Effect } from "effect"

export interface LocalEndpoint {
  readonly name: string
  readonly type: "ollama" | "lmstudio"
  /** What the probe asks (an Ollama root, or an OpenAI-compatible `/v1` base). */
  readonly url: string
}

export const defaultLocalEndpoints: ReadonlyArray<LocalEndpoint> = [
  { name: "ollama", type: "ollama", url: "http://127.0.0.1:11434" },
  { name: "lmstudio", type: "lmstudio", url: "http://127.0.0.1:1234/v1" }
]

export interface DiscoveryOptions {
  readonly endpoints?: ReadonlyArray<LocalEndpoint> | undefined
  readonly timeoutMs?: number | undefined
}

/** The config plus every local server that answered and is not configured already. */
export const discoverLocalProviders = (config: GatewayConfig, options: DiscoveryOptions = {}): Effect.Effect<GatewayConfig> => {
  const missing = (options.endpoints ?? defaultLocalEndpoints).filter((e) =>
    !config.providers.some((p) => p.name === e.name || p.type === e.type)
  )
  if (missing.length === 0) return Effect.succeed(config)
  return Effect.map(
    Effect.forEach(missing, (e) =>
      Effect.map(checkLocalModelHealth(e.url, { timeoutMs: options.timeoutMs ?? 500 }), (health): ProviderConfig | undefined =>
        health.healthy && health.models.length > 0
          ? { name: e.name, type: e.type, baseUrl: e.url, models: health.models.map((id) => ({ id })) }
          : undefined), { concurrency: "unbounded" }),
    (found) => {
      const added = found.filter((p): p is ProviderConfig => p !== undefined)
      return added.length === 0 ? config : { ...config, providers: [...config.providers, ...added] }
    }
  )
}
