/**
 * Each configured provider's health, probed in parallel and bounded: what `GET /health/ready`
 * and `gateway health` report. A probe never fails (the client reports an unreachable upstream
 * as unhealthy with the reason); one that hangs past the bound is reported as timed out.
 */
import type { HealthStatus } from "@llm-gateway/core/domain/Domain"
import type { ModelClientsShape } from "@llm-gateway/core/providers/ModelClients"
import { Effect } from "effect"
import type { Scrubber } from "./internal/secrets.ts"

export interface ProviderHealth {
  readonly provider: string
  readonly type: string
  readonly healthy: boolean
  readonly latencyMs: number
  readonly models?: ReadonlyArray<string> | undefined
  readonly error?: string | undefined
}

export const DEFAULT_PROBE_TIMEOUT_MS = 5_000

export const probeProviders = (
  clients: ModelClientsShape,
  scrubber: Scrubber,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS
): Effect.Effect<ReadonlyArray<ProviderHealth>> =>
  Effect.forEach(clients.all, (client) =>
    client.health.pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () =>
          Effect.succeed<HealthStatus>({ healthy: false, latencyMs: timeoutMs, error: `no answer within ${timeoutMs} ms` })
      }),
      Effect.map((h): ProviderHealth => ({
        provider: client.provider,
        type: client.type,
        healthy: h.healthy,
        latencyMs: h.latencyMs,
        models: h.models,
        error: h.error === undefined ? undefined : scrubber.scrub(h.error)
      }))
    ), { concurrency: "unbounded" })

/** Ready: at least one provider answers, so the gateway can serve something. */
export const isReady = (health: ReadonlyArray<ProviderHealth>): boolean => health.some((h) => h.healthy)
