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
}

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
