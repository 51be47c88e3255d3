/** The gateway built in process against the bench upstream (layers.ts, ttftLayers.ts): one provider, cache off unless asked. */
import { Effect, Layer, Scope } from "effect"
import { gatewayLayer } from "llm-gateway/GatewayLayer"

export const messages = [
  { role: "system" as const, content: "You classify infrastructure alerts." },
  { role: "user" as const, content: "CPU on db-1 at 97% for 10 minutes; replication lag 40 s. Severity?" }
]

/** The gateway's services for `upstream` (`http://host:port`), in a scope that lives as long as the process. */
export const buildBenchGateway = (upstream: string, options: { readonly cache?: boolean } = {}) =>
  Effect.runPromise(Scope.provide(Effect.runSync(Scope.make()))(Layer.build(gatewayLayer({
    config: {
      providers: [{ name: "bench", type: "openai-compatible", baseUrl: `${upstream}/v1`, apiKey: "sk-bench", models: [
        { id: "bench-fast", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 },
        { id: "bench-stream", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }
      ] }],
      routing: { fallbackOrder: ["bench/bench-fast"] },
      cache: { enabled: options.cache === true, ttlSeconds: 3600, maxSize: 1000 },
      conversations: { store: "memory" }
    }
  }))))
