/**
 * Each configured provider's health, probed in parallel and bounded: what `GET /health/ready`
 * and `gateway health` report. A probe never fails (the client reports an unreachable upstream
 * as unhealthy with the reason); one that hangs past the bound is reported as timed out.
 */
import type { GatewayStatusShape, ProviderProbe } from "@llm-gateway/core/manager/GatewayStatus"
import { Effect } from "effect"
import type { Scrubber } from "./internal/secrets.ts"

/** A probe with the upstream's error text scrubbed of configured secrets. */
export type ProviderHealth = ProviderProbe

export const DEFAULT_PROBE_TIMEOUT_MS = 5_000

export const probeProviders = (
  status: GatewayStatusShape,
  scrubber: Scrubber,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS
): Effect.Effect<ReadonlyArray<ProviderHealth>> =>
  Effect.map(status.health(timeoutMs), (all) =>
    all.map((h) => (h.error === undefined ? h : { ...h, error: scrubber.scrub(h.error) })))

/** Ready: at least one provider answers, so the gateway can serve something. */
export const isReady = (health: ReadonlyArray<ProviderHealth>): boolean => health.some((h) => h.healthy)
