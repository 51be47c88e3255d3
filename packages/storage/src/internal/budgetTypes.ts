/**
 * The budget store's shape and values, in a module of their own so the store's implementations
 * (memory and Redis in BudgetStore.ts, Postgres in pgBudgets.ts) read them without importing the
 * service that chooses between them.
 */
import type { Effect } from "effect"

export interface BudgetLine {
  /** A budget and its period, e.g. `key:ab12…:month:2025-06`. */
  readonly id: string
  readonly limitUsd: number
  /** When the period ends (epoch ms): the store may forget the counter after it; absent: never. */
  readonly periodEndsAt?: number | undefined
  /** When the period began (epoch ms; 0 for a `total` budget): where a seed reads the ledger from. */
  readonly periodStartsAt?: number | undefined
  /** Whose budget it is, as the ledger's rows name it (`key_id`, `team`): what a seed sums. */
  readonly owner?: { readonly kind: "key" | "team"; readonly id: string } | undefined
}

/**
 * What a line had already spent before its counter existed (USD): the usage ledger's sum for its
 * owner over its period (`UsageLedger.spentIn`). A store seeds a counter with it when it first
 * meets the line — this process's memory after a restart, a Redis that was flushed or replaced,
 * a Postgres row made for a budget set mid-period — so a restart never hands a budget back.
 */
export type BudgetSeed = (line: BudgetLine) => Effect.Effect<number, unknown>

export type Reservation =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly line: BudgetLine; readonly remainingUsd: number }

export interface BudgetStoreShape {
  readonly kind: "redis" | "postgres" | "memory"
  readonly reserve: (lines: ReadonlyArray<BudgetLine>, amountUsd: number, expiresInMs: number) => Effect.Effect<Reservation>
  readonly settle: (reservationId: string, lines: ReadonlyArray<BudgetLine>, actualUsd: number) => Effect.Effect<void>
  /** USD spent (settled) in a budget line. */
  readonly spent: (line: BudgetLine) => Effect.Effect<number>
}
