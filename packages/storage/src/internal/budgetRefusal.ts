/**
 * The refusal every BudgetStore gives when a line's seed (`BudgetSeed`, the usage ledger's sum)
 * cannot be read: fail closed, as a store outage does, with one warning naming the line.
 */
import { Effect } from "effect"
import type { BudgetLine, Reservation } from "./budgetTypes.ts"

export const unseededRefusal = (line: BudgetLine, cause: unknown): Effect.Effect<Reservation> =>
  Effect.as(
    Effect.logWarning(`budget seed (usage ledger) unavailable for ${line.id}, refusing: ${String((cause as { message?: unknown })?.message ?? cause)}`),
    { ok: false, line, remainingUsd: 0 } as Reservation
  )
