/**
 * The ledger's write of one batch as plain SQL texts and parameters: its raw rows into
 * `gateway_usage` and its daily rollups upserted into `gateway_usage_daily`. The one copy of this
 * SQL, run two ways: by `ledgerWrite.ts` through effect/sql (Postgres, SQLite with
 * `writer: "inline"`, in-memory SQLite) and by the worker thread (`ledgerWorkerThread.ts`) on a bare
 * `node:sqlite` connection.
 *
 * No runtime imports, on purpose: the worker thread loads this file and nothing of effect, which
 * would cost its isolate ~60 MB RSS more (LedgerWorker.ts).
 */
import type { LedgerRow } from "./ledgerTypes.ts"

export type LedgerDialect = "sqlite" | "pg"

export interface LedgerStatement {
  readonly sql: string
  readonly params: Array<unknown>
}

export const DAY = 86_400_000

export const dayOf = (ms: number) => Math.floor(ms / DAY) * DAY

/** `gateway_usage`'s columns, in the order `rowParams` gives their values. */
const ROW_COLUMNS = [
  "at", "key_id", "team", "scope", "task", "requested_model", "model", "provider", "attempts", "status",
  "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_usd", "latency_ms",
  "cache_hit", "body"
] as const

const rowParams = (r: LedgerRow): Array<unknown> => [
  r.at,
  // `?? null`: node:sqlite refuses undefined as a parameter, should a caller leave one out
  r.keyId ?? null,
  r.team ?? null,
  r.scope,
  r.task,
  r.requestedModel ?? null,
  r.model,
  r.provider,
  r.attempts,
  r.status,
  r.promptTokens,
  r.completionTokens,
  r.cachedTokens,
  r.reasoningTokens,
  r.costUsd,
  r.latencyMs,
  // an INTEGER column on both stores (SQLite has no boolean; node:sqlite refuses one as a parameter)
  r.cacheHit ? 1 : 0,
  r.body ?? null
]

/** Rows per INSERT of raw rows: the statement text is the same each time, so it is prepared once. */
export const INSERT_CHUNK = 64

/**
 * `[from, to)` slices of a batch of `n` rows: full chunks, then the rest in powers of two, so a
 * flush of any size uses at most 7 statement texts (a text per row count would be prepared anew
 * each flush: notes/benchmarks.md).
 */
export const insertChunks = (n: number): Array<readonly [number, number]> => {
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

/** `(?, ?), (?, ?)` or `($1, $2), ($3, $4)`: `rows` tuples of `width` placeholders. */
const values = (dialect: LedgerDialect, rows: number, width: number): string => {
  const tuples: Array<string> = []
  for (let r = 0; r < rows; r++) {
    const marks: Array<string> = []
    for (let c = 0; c < width; c++) marks.push(dialect === "pg" ? `$${r * width + c + 1}` : "?")
    tuples.push(`(${marks.join(", ")})`)
  }
  return tuples.join(", ")
}

// The texts are few (7 chunk sizes, 1 rollup) and built on every flush otherwise: kept per dialect.
const insertTexts = new Map<string, string>()
const insertSql = (dialect: LedgerDialect, rows: number): string => {
  const k = `${dialect}:${rows}`
  let text = insertTexts.get(k)
  if (text === undefined) {
    text = `INSERT INTO gateway_usage (${ROW_COLUMNS.join(", ")}) VALUES ${values(dialect, rows, ROW_COLUMNS.length)}`
    insertTexts.set(k, text)
  }
  return text
}

export interface Rollup {
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

/** `gateway_usage_daily`'s columns, in `Rollup`'s order; its primary key is the first seven. */
const ROLLUP_COLUMNS = [
  "day", "scope", "key_id", "team", "task", "model", "provider", "requests", "prompt_tokens", "completion_tokens", "cost_usd"
] as const

/** The batch's sums per day, scope, key, team, task, model and provider ('' for no key / team: see the migration). */
export const rollupsOf = (rows: ReadonlyArray<LedgerRow>): Array<Rollup> => {
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

// `excluded` is the row the INSERT proposed: the same spelling on SQLite and Postgres.
const rollupSql = (dialect: LedgerDialect) =>
  `INSERT INTO gateway_usage_daily (${ROLLUP_COLUMNS.join(", ")}) VALUES ${values(dialect, 1, ROLLUP_COLUMNS.length)}
        ON CONFLICT (day, scope, key_id, team, task, model, provider) DO UPDATE SET
          requests = gateway_usage_daily.requests + excluded.requests,
          prompt_tokens = gateway_usage_daily.prompt_tokens + excluded.prompt_tokens,
          completion_tokens = gateway_usage_daily.completion_tokens + excluded.completion_tokens,
          cost_usd = gateway_usage_daily.cost_usd + excluded.cost_usd`
const rollupTexts: Record<LedgerDialect, string> = { sqlite: rollupSql("sqlite"), pg: rollupSql("pg") }

/**
 * The statements writing one batch, in order; the caller runs them in one transaction (all of the
 * batch or nothing, so a failed batch can be retried whole).
 */
export const batchStatements = (batch: ReadonlyArray<LedgerRow>, dialect: LedgerDialect): Array<LedgerStatement> => {
  const out: Array<LedgerStatement> = []
  for (const [from, to] of insertChunks(batch.length)) {
    const params: Array<unknown> = []
    for (let i = from; i < to; i++) params.push(...rowParams(batch[i]!))
    out.push({ sql: insertSql(dialect, to - from), params })
  }
  for (const u of rollupsOf(batch)) {
    out.push({
      sql: rollupTexts[dialect],
      params: [u.day, u.scope, u.key_id, u.team, u.task, u.model, u.provider, u.requests, u.prompt_tokens, u.completion_tokens, u.cost_usd]
    })
  }
  return out
}
