/**
 * The stores behind keys, budgets and the ledger, built once when the server starts: the
 * GatewayDatabase (lazy: nothing on disk until something is stored), the KeyStore, the
 * UsageLedger's writer fiber, the BudgetStore and the per-key RateLimiter (Redis when
 * configured, else memory).
 */
import type { GatewayConfig, ModelEntry } from "@llm-gateway/core/config/ConfigSchema"
import { LLMConfig } from "@llm-gateway/core/config/LLMConfig"
import { BudgetStore, type BudgetStoreShape } from "@llm-gateway/storage/BudgetStore"
import { GatewayDatabase, type GatewayDatabaseShape } from "@llm-gateway/storage/GatewayDatabase"
import { KeyStore, type KeyStoreShape } from "@llm-gateway/storage/KeyStore"
import { ledgerSeed, UsageLedger, type UsageLedgerShape } from "@llm-gateway/storage/UsageLedger"
import { Context, Effect, Layer, Option, type Scope } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"

export interface Governance {
  /** The one store of this process (one SQLite connection): the ops outbox gets it too. */
  readonly db: GatewayDatabaseShape
  readonly keys: KeyStoreShape
  readonly ledger: UsageLedgerShape
  readonly budgets: BudgetStoreShape
  readonly limiter: RateLimiter.RateLimiter
  readonly models: ReadonlyMap<string, ModelEntry>
}

export const buildGovernance = (config: GatewayConfig): Effect.Effect<Governance, never, Scope.Scope> =>
  Effect.gen(function*() {
    const db = yield* Layer.build(GatewayDatabase.layer({ url: config.database?.url, path: config.database?.path }))
    // the budgets' counters start from the ledger's sums (a restart or a new Redis hands no budget back)
    const budgets = Layer.unwrap(Effect.map(UsageLedger, (ledger) => BudgetStore.layerConfigWithLimiter(ledgerSeed(ledger))))
    const layer = Layer.mergeAll(KeyStore.layer, RateLimiter.layer).pipe(
      Layer.provideMerge(budgets),
      Layer.provideMerge(UsageLedger.layer({ flushMs: config.ledger?.flushMs, maxBuffer: config.ledger?.maxBuffer })),
      Layer.provide(Layer.succeedContext(db)),
      Layer.provide(Layer.succeed(LLMConfig, config))
    )
    const ctx = yield* Layer.build(layer)
    const models = new Map<string, ModelEntry>()
    for (const p of config.providers) for (const m of p.models) models.set(`${p.name}/${m.id}`, m)
    return {
      db: Context.get(db, GatewayDatabase),
      keys: Context.get(ctx, KeyStore),
      ledger: Context.get(ctx, UsageLedger),
      budgets: Context.get(ctx, BudgetStore),
      limiter: Context.get(ctx, RateLimiter.RateLimiter),
      models
    }
  })

/** The team of a key, for its budget; a deleted or unknown team has none. */
export const teamOf = (keys: KeyStoreShape) => (id: string) =>
  keys.getTeam(id).pipe(
    Effect.map((t) => Option.getOrUndefined(Option.filter(t, (team) => team.deletedAt === null))),
    Effect.orElseSucceed(() => undefined)
  )
