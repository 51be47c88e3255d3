/**
 * The read-only side of a running gateway, for status, health and model listings: its config,
 * the deployments the router can pick, router and cache counters, and provider health probes.
 * Built from the router, cache and clients at wiring, so a shell (the HTTP server) depends on
 * `LLMManager` plus this one service rather than on every service behind them
 * (notes/architecture.md "How a request flows").
 */
import { Context, Effect, Layer } from "effect"
import { type CacheStats, CacheService } from "../cache/CacheService.ts"
import type { GatewayConfig } from "../config/ConfigSchema.ts"
import { LLMConfig } from "../config/LLMConfig.ts"
import type { HealthStatus } from "../domain/Domain.ts"
import { ModelClients } from "../providers/ModelClients.ts"
import { type DeploymentInfo, ModelRouter, type RouterStats } from "../routing/ModelRouter.ts"

/** One provider's probe: its client's health, or a timeout. The error text is the upstream's, unscrubbed. */
export interface ProviderProbe {
  readonly provider: string
  readonly type: string
  readonly healthy: boolean
  readonly latencyMs: number
  readonly models?: ReadonlyArray<string> | undefined
  readonly error?: string | undefined
}

export interface GatewayStatusShape {
  /** The validated config the gateway runs on. */
  readonly config: GatewayConfig
  /** Every deployment the router can route to (`GET /v1/models`). */
  readonly models: ReadonlyArray<DeploymentInfo>
  /** The router's and the cache's live counters. */
  readonly stats: Effect.Effect<{ readonly router: RouterStats; readonly cache: CacheStats }>
  /**
   * Each configured provider probed in parallel; a probe never fails (an unreachable upstream
   * is unhealthy with the reason) and one that hangs past `timeoutMs` is reported as timed out.
   */
  readonly health: (timeoutMs: number) => Effect.Effect<ReadonlyArray<ProviderProbe>>
}

export class GatewayStatus extends Context.Service<GatewayStatus, GatewayStatusShape>()(
  "@llm-gateway/core/manager/GatewayStatus"
) {
  /** Over the wired router, cache, clients and config. */
  static readonly layer: Layer.Layer<GatewayStatus, never, LLMConfig | ModelRouter | CacheService | ModelClients> = Layer
    .effect(
      this,
      Effect.gen(function*() {
        const config = yield* LLMConfig
        const router = yield* ModelRouter
        const cache = yield* CacheService
        const clients = yield* ModelClients
        return GatewayStatus.of({
          config,
          models: router.models,
          stats: Effect.map(Effect.all([router.stats, cache.stats]), ([r, c]) => ({ router: r, cache: c })),
          health: (timeoutMs) =>
            Effect.forEach(clients.all, (client) =>
              client.health.pipe(
                Effect.timeoutOrElse({
                  duration: timeoutMs,
                  orElse: () =>
                    Effect.succeed<HealthStatus>({ healthy: false, latencyMs: timeoutMs, error: `no answer within ${timeoutMs} ms` })
                }),
                Effect.map((h): ProviderProbe => ({
                  provider: client.provider,
                  type: client.type,
                  healthy: h.healthy,
                  latencyMs: h.latencyMs,
                  models: h.models,
                  error: h.error
                }))
              ), { concurrency: "unbounded" })
        })
      })
    )
}
