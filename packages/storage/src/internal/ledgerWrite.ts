/**
 * The ledger's write of one batch: its raw rows into `gateway_usage` and its daily rollups upserted
 * into `gateway_usage_daily`, in one transaction. The one copy of this SQL: `UsageLedger` runs it
 * in-thread (Postgres, or SQLite with `writer: "inline"`), the ledger worker
 * (`ledgerWorkerThread.ts`) runs it on its own SQLite connection. Only `effect` and types here, so the
 * worker loads little.
 */
import { Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { SqlClient } from "effect/sql"
import type { LedgerRow } from "../UsageLedger.ts"

export const DAY = 86_400_000

export const dayOf = (ms: number) => Math.floor(ms / DAY) * DAY

const rowColumns = (r: LedgerRow) => ({
  at: r.at,
  key_id: r.keyId,
  team: r.team,
  scope: r.scope,
  task: r.task,
  requested_model: r.requestedModel,
  model: r.model,
  provider: r.provider,
  attempts: r.attempts,
  status: r.status,
  prompt_tokens: r.promptTokens,
  completion_tokens: r.completionTokens,
  cached_tokens: r.cachedTokens,
  reasoning_tokens: r.reasoningTokens,
  cost_usd: r.costUsd,
  latency_ms: r.latencyMs,
  cache_hit: r.cacheHit ? 1 : 0,
  body: r.body ?? null
})

/** Rows per INSERT of raw rows: the statement text is the same each time, so it is prepared once. */
const INSERT_CHUNK = 64

/**
 * `[from, to)` slices of a batch of `n` rows: full chunks, then the rest in powers of two, so a
 * flush of any size uses at most 7 statement texts (a text per row count would be prepared anew
 * each flush: notes/benchmarks.md).
 */
const insertChunks = (n: number): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  let at = 0
  for (; n - at >= INSERT_CHUNK; at += INSERT_CHUNK) out.push([at, at + INSERT_CHUNK])
  for (let size = INSERT_CHUNK / 2; size >= 1; size /= 2) {
    if (n - at >= size) {
      out.push([at, at + size])
      at += size
    }
  }
  return out
}

interface Rollup {
  day: number
  scope: string
  key_id: string
  team: string
  task: string
  model: string
  provider: string
  requests: number
  prompt_tokens: number
  completion_tokens: number
  cost_usd: number
}

const rollupsOf = (rows: ReadonlyArray<LedgerRow>): Array<Rollup> => {
  const byKey = new Map<string, Rollup>()
  for (const r of rows) {
    const day = dayOf(r.at)
    const k = JSON.stringify([day, r.scope, r.keyId ?? "", r.team ?? "", r.task, r.model, r.provider])
    let u = byKey.get(k)
    if (u === undefined) {
      u = { day, scope: r.scope, key_id: r.keyId ?? "", team: r.team ?? "", task: r.task, model: r.model, provider: r.provider, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 }
      byKey.set(k, u)
    }
    u.requests++
    u.prompt_tokens += r.promptTokens
    u.completion_tokens += r.completionTokens
    u.cost_usd += r.costUsd
  }
  return [...byKey.values()]
}

/** Writes one batch in one transaction: all of it or nothing (a failed batch can be retried whole). */
export const writeBatch = (s: SqlClient.SqlClient, batch: NonEmptyReadonlyArray<LedgerRow>) =>
  s.withTransaction(Effect.gen(function*() {
    for (const [from, to] of insertChunks(batch.length)) {
      yield* s`INSERT INTO gateway_usage ${s.insert(batch.slice(from, to).map(rowColumns) as unknown as NonEmptyReadonlyArray<Record<string, unknown>>)}`
    }
    for (const u of rollupsOf(batch)) {
      yield* s`INSERT INTO gateway_usage_daily ${s.insert({ ...u })}
        ON CONFLICT (day, scope, key_id, team, task, model, provider) DO UPDATE SET
          requests = gateway_usage_daily.requests + excluded.requests,
          prompt_tokens = gateway_usage_daily.prompt_tokens + excluded.prompt_tokens,
          completion_tokens = gateway_usage_daily.completion_tokens + excluded.completion_tokens,
          cost_usd = gateway_usage_daily.cost_usd + excluded.cost_usd`
    }
  }))
