/** One usage-ledger row: a request as the ledger keeps it (UsageLedger.ts re-exports it). */
export interface LedgerRow {
  /** Epoch ms. */
  readonly at: number
  /** The virtual key's id; null for static config keys and open gateways. */
  readonly keyId: string | null
  readonly team: string | null
  /** The tenant scope (each gateway key its own). */
  readonly scope: string
  readonly task: string
  readonly requestedModel: string | null
  readonly model: string
  readonly provider: string
  readonly attempts: number
  /** HTTP status of the answer (200, 429…). */
  readonly status: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly reasoningTokens: number
  readonly costUsd: number
  readonly latencyMs: number
  readonly cacheHit: boolean
  /** Only with `ledger.storeBodies: true`: redacted, capped. */
  readonly body?: string | null | undefined
}
