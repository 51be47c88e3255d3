/**
 * The usage ledger: one row per request (feature `ledger` of the GatewayDatabase), written off
 * the request path.
 *
 * `record` only pushes onto a bounded in-memory buffer — it never waits, never fails, never
 * opens the store. A background fiber writes the buffer every `flushMs` (1 s by default) in
 * batches, one transaction each: the raw rows, plus an upsert of the daily rollup
 * (`gateway_usage_daily`: per day, scope, key, team, task and model). When the store is down, rows stay
 * in the buffer and are written when it is back; only a buffer full beyond `maxBuffer` drops
 * rows, counted in `llm_gateway_ledger_dropped_rows_total`.
 *
 * Reads stay fast at millions of rows: whole UTC days come from the rollup, and only the partial
 * first and last day of a range from the raw rows (through the `(key_id, at)`, `(team, at)` and
 * `(scope, at)` indexes). A report groups its rows per model, task, key or team.
 *
 * On SQLite the batches are written by a worker thread (`writer: "worker"`, the default) with its
 * own connection to the same file, running the same SQL (`internal/ledgerSql.ts`). `node:sqlite`
 * is synchronous: in-thread, the ledger's INSERTs cost ~55,000 instructions a request on the event
 * loop (callgrind: ~9 % of a whole proxied request) and a 1,000-row flush blocked it for
 * milliseconds, a stall every request in flight waited out. The main thread still opens the store
 * (migrations) before the first batch, reads with its own connection (WAL: readers never wait on
 * the writer), and treats a failed worker write — SQLite busy, the thread crashed — like any failed
 * write: the rows go back to the buffer. The price: the thread's own V8 isolate, ~0.2 s to start
 * on the first flush and ~26 MB RSS (bare `node:sqlite`, no effect: `internal/LedgerWorker.ts`).
 * `writer: "inline"` writes on the main thread, as Postgres always does
 * (its I/O is already asynchronous), and so does an in-memory SQLite (one connection).
 */
import { Context, Deferred, Effect, Layer, Metric, Option, Schedule, Semaphore } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { SqlClient } from "effect/sql"
import { type Feature, GatewayDatabase } from "./GatewayDatabase.ts"
import type { BudgetLine, BudgetSeed } from "./internal/budgetTypes.ts"
import * as LedgerWorker from "./internal/LedgerWorker.ts"
import { DAY, dayOf } from "./internal/ledgerSql.ts"
import { writeBatch } from "./internal/ledgerWrite.ts"
import type { LedgerRow } from "./internal/ledgerTypes.ts"

// the row type lives with the ledger's internals (its SQL and its writer thread read it), so
// they need not import this module, which imports them
export type { LedgerRow } from "./internal/ledgerTypes.ts"

/** What a report's rows are per. */
export type UsageGroup = "model" | "task" | "key" | "team"

export const usageGroups: ReadonlyArray<UsageGroup> = ["model", "task", "key", "team"]

export interface UsageFilter {
  readonly keyId?: string | undefined
  readonly team?: string | undefined
  readonly scope?: string | undefined
  /** Epoch ms, inclusive. */
  readonly from: number
  /** Epoch ms, exclusive. */
  readonly to: number
  /** Default `model`. */
  readonly groupBy?: UsageGroup | undefined
}

export interface UsageTotals {
  readonly requests: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd: number
}

/** One group's sums, named by the group's own fields: `model` + `provider`, `task`, `key` or `team` (null: none). */
export interface UsageRow extends UsageTotals {
  readonly model?: string
  readonly provider?: string
  readonly task?: string
  readonly key?: string | null
  readonly team?: string | null
}

export interface UsageReport {
  readonly totals: UsageTotals
  readonly rows: ReadonlyArray<UsageRow>
}

export interface UsageLedgerShape {
  /** Buffers the row; never blocks or fails. */
  readonly record: (row: LedgerRow) => void
  /** Writes what is buffered now (tests, shutdown). */
  readonly flush: Effect.Effect<void>
  readonly query: (filter: UsageFilter) => Effect.Effect<UsageReport>
  /** Rows buffered and not yet written, and rows dropped since start. */
  readonly stats: () => { readonly pending: number; readonly dropped: number }
}

export interface UsageLedgerOptions {
  readonly flushMs?: number | undefined
  readonly maxBuffer?: number | undefined
  readonly batchSize?: number | undefined
  /**
   * SQLite: who writes the batches, a worker thread (default: off the event loop) or the main
   * thread (`inline`). Postgres always writes inline.
   */
  readonly writer?: "worker" | "inline" | undefined
}

export const LedgerFeature: Feature = {
  name: "ledger",
  migrations: {
    "1_create_ledger": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE gateway_usage (
        at BIGINT NOT NULL, key_id TEXT, team TEXT, scope TEXT NOT NULL, task TEXT NOT NULL,
        requested_model TEXT, model TEXT NOT NULL, provider TEXT NOT NULL, attempts INTEGER NOT NULL,
        status INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL, cache_hit INTEGER NOT NULL, body TEXT
      )`
      yield* sql`CREATE INDEX gateway_usage_key_at ON gateway_usage (key_id, at)`
      yield* sql`CREATE INDEX gateway_usage_team_at ON gateway_usage (team, at)`
      yield* sql`CREATE INDEX gateway_usage_scope_at ON gateway_usage (scope, at)`
      yield* sql`CREATE INDEX gateway_usage_at ON gateway_usage (at)`
      // '' rather than NULL for "no key"/"no team": NULLs never conflict in a primary key
      yield* sql`CREATE TABLE gateway_usage_daily (
        day BIGINT NOT NULL, scope TEXT NOT NULL, key_id TEXT NOT NULL, team TEXT NOT NULL,
        model TEXT NOT NULL, provider TEXT NOT NULL, requests BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (day, scope, key_id, team, model, provider)
      )`
      yield* sql`CREATE INDEX gateway_usage_daily_key ON gateway_usage_daily (key_id, day)`
      yield* sql`CREATE INDEX gateway_usage_daily_team ON gateway_usage_daily (team, day)`
      yield* sql`CREATE INDEX gateway_usage_daily_scope ON gateway_usage_daily (scope, day)`
    }),
    // the rollup gains the task (usage per task): rebuilt from the raw rows, which keep it
    "2_daily_task": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DROP TABLE gateway_usage_daily`
      yield* sql`CREATE TABLE gateway_usage_daily (
        day BIGINT NOT NULL, scope TEXT NOT NULL, key_id TEXT NOT NULL, team TEXT NOT NULL, task TEXT NOT NULL,
        model TEXT NOT NULL, provider TEXT NOT NULL, requests BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (day, scope, key_id, team, task, model, provider)
      )`
      yield* sql`CREATE INDEX gateway_usage_daily_key ON gateway_usage_daily (key_id, day)`
      yield* sql`CREATE INDEX gateway_usage_daily_team ON gateway_usage_daily (team, day)`
      yield* sql`CREATE INDEX gateway_usage_daily_scope ON gateway_usage_daily (scope, day)`
      // the day as a literal: as two bound parameters Postgres would not see the GROUP BY's expression as the SELECT's
      yield* sql.unsafe(`INSERT INTO gateway_usage_daily
        SELECT (at / ${DAY}) * ${DAY}, scope, coalesce(key_id, ''), coalesce(team, ''), task, model, provider,
          count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
        FROM gateway_usage GROUP BY 1, 2, 3, 4, 5, 6, 7`)
    })
  }
}

export const droppedRows = Metric.counter("llm_gateway_ledger_dropped_rows_total", {
  description: "Usage ledger rows dropped because the buffer was full (store down or too slow)",
  incremental: true
})

/** One group's partial sums; `g1`, `g2` name the group (`g2` only for a model: its provider). */
interface Agg {
  g1: string | null
  g2: string | null
  requests: number | string
  prompt_tokens: number | string | null
  completion_tokens: number | string | null
  cost_usd: number | string | null
}

/** The columns naming a group, the same on the raw rows and the rollup ('' for no key / team). */
const groupSql: Record<UsageGroup, { readonly select: string; readonly groupBy: string }> = {
  model: { select: "model AS g1, provider AS g2", groupBy: "model, provider" },
  task: { select: "task AS g1, '' AS g2", groupBy: "task" },
  key: { select: "coalesce(key_id, '') AS g1, '' AS g2", groupBy: "coalesce(key_id, '')" },
  team: { select: "coalesce(team, '') AS g1, '' AS g2", groupBy: "coalesce(team, '')" }
}

export const make = (options: UsageLedgerOptions = {}) =>
  Effect.gen(function*() {
    const db = yield* GatewayDatabase
    const flushMs = options.flushMs ?? 1000
    const maxBuffer = options.maxBuffer ?? 100_000
    // 18 columns a row: one INSERT of 1000 rows binds 18 000 parameters. Postgres's wire format
    // caps a statement at 32 767 (a signed 16-bit count in @effect/sql-pg); at 2000 rows every
    // write failed with "Failed to encode query" once an outage had buffered that many.
    const batchSize = Math.min(options.batchSize ?? 1000, 1800)
    let buffer: Array<LedgerRow> = []
    let dropped = 0
    let down = false

    const sqlite = db.sqlite
    // an in-memory database is a connection's own: another thread's would be another database
    const inMemory = sqlite !== undefined && (sqlite.filename === ":memory:" || /[?&]mode=memory\b/.test(sqlite.filename))
    // made before the last flush's finalizer below, so that finalizer runs first and the thread closes after it
    const worker = sqlite !== undefined && !inMemory && (options.writer ?? "worker") === "worker"
      ? yield* LedgerWorker.make(sqlite)
      : undefined

    // One flush at a time: a caller's flush (tests, shutdown) waits for the writer fiber's batch in
    // flight instead of returning (or closing the scope) while it is neither buffered nor stored.
    const flushing = yield* Semaphore.make(1)

    /** Writes the buffer in batches; on failure the rows go back to the front, to try again. */
    const flush: Effect.Effect<void> = flushing.withPermits(1)(Effect.gen(function*() {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, batchSize) as unknown as NonEmptyReadonlyArray<LedgerRow>
        buffer = buffer.slice(batch.length)
        const written = yield* db.open(LedgerFeature).pipe(
          // the store opened (and migrated) here first: the worker only writes
          Effect.flatMap((s): Effect.Effect<void, unknown> => worker === undefined ? writeBatch(s, batch) : worker.write(batch)),
          Effect.as(true),
          Effect.catchCause((cause) =>
            Effect.gen(function*() {
              buffer = [...batch, ...buffer]
              if (!down) yield* Effect.logWarning(`usage ledger: store unavailable, keeping ${buffer.length} rows to write later`, cause)
              down = true
              return false
            })
          )
        )
        if (!written) return
        if (down) {
          down = false
          yield* Effect.logInfo("usage ledger: store back, writing buffered rows")
        }
      }
    }))

    // registered at 0 from the start, so /metrics shows it before the first drop
    yield* Metric.update(droppedRows, 0)
    yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(flushMs)))
    // what is still buffered at shutdown gets one last chance
    yield* Effect.addFinalizer(() => flush.pipe(Effect.timeoutOption(5000), Effect.ignore))

    const filterSql = (s: SqlClient.SqlClient, f: UsageFilter) =>
      f.keyId !== undefined
        ? s`key_id = ${f.keyId}`
        : f.team !== undefined
        ? s`team = ${f.team}`
        : f.scope !== undefined
        ? s`scope = ${f.scope}`
        : s`1 = 1`

    const query = (f: UsageFilter): Effect.Effect<UsageReport> =>
      Effect.gen(function*() {
        const by = f.groupBy ?? "model"
        const client = yield* db.openIfExists(LedgerFeature).pipe(Effect.orDie)
        const parts: Array<Agg> = []
        if (Option.isSome(client)) {
          const s = client.value
          const where = filterSql(s, f)
          const group = s.literal(groupSql[by].select)
          const groupBy = s.literal(groupSql[by].groupBy)
          const firstFull = dayOf(f.from) === f.from ? f.from : dayOf(f.from) + DAY
          const lastFull = dayOf(f.to)
          const raw = (from: number, to: number) =>
            s<Agg>`SELECT ${group}, count(*) AS requests, sum(prompt_tokens) AS prompt_tokens,
              sum(completion_tokens) AS completion_tokens, sum(cost_usd) AS cost_usd
              FROM gateway_usage WHERE ${where} AND at >= ${from} AND at < ${to} GROUP BY ${groupBy}`
          if (firstFull >= lastFull) {
            parts.push(...yield* raw(f.from, f.to))
          } else {
            if (f.from < firstFull) parts.push(...yield* raw(f.from, firstFull))
            const rollWhere = f.keyId !== undefined || f.team !== undefined || f.scope !== undefined ? where : s`1 = 1`
            parts.push(...yield* s<Agg>`SELECT ${group}, sum(requests) AS requests, sum(prompt_tokens) AS prompt_tokens,
              sum(completion_tokens) AS completion_tokens, sum(cost_usd) AS cost_usd
              FROM gateway_usage_daily WHERE ${rollWhere} AND day >= ${firstFull} AND day < ${lastFull} GROUP BY ${groupBy}`)
            if (lastFull < f.to) parts.push(...yield* raw(lastFull, f.to))
          }
        }
        // rows not yet written count too: what this instance served is visible at once
        for (const r of buffer) {
          if (r.at < f.from || r.at >= f.to) continue
          if (f.keyId !== undefined ? r.keyId !== f.keyId : f.team !== undefined ? r.team !== f.team : f.scope !== undefined && r.scope !== f.scope) continue
          const [g1, g2] = by === "model" ? [r.model, r.provider] : by === "task" ? [r.task, ""] : by === "key" ? [r.keyId ?? "", ""] : [r.team ?? "", ""]
          parts.push({ g1, g2, requests: 1, prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, cost_usd: r.costUsd })
        }
        const groups = new Map<string, { g1: string; g2: string } & { -readonly [K in keyof UsageTotals]: number }>()
        for (const p of parts) {
          const g1 = p.g1 ?? ""
          const g2 = p.g2 ?? ""
          const k = JSON.stringify([g1, g2])
          const row = groups.get(k) ?? { g1, g2, requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
          row.requests += Number(p.requests)
          row.promptTokens += Number(p.prompt_tokens ?? 0)
          row.completionTokens += Number(p.completion_tokens ?? 0)
          row.costUsd += Number(p.cost_usd ?? 0)
          groups.set(k, row)
        }
        const sorted = [...groups.values()].sort((a, b) => b.costUsd - a.costUsd || a.g1.localeCompare(b.g1))
        const totals = { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
        for (const r of sorted) {
          totals.requests += r.requests
          totals.promptTokens += r.promptTokens
          totals.completionTokens += r.completionTokens
          totals.costUsd += r.costUsd
        }
        const rows = sorted.map(({ g1, g2, ...sums }): UsageRow =>
          by === "model" ? { model: g1, provider: g2, ...sums } : by === "task" ? { task: g1, ...sums } : by === "key" ? { key: g1 === "" ? null : g1, ...sums } : { team: g1 === "" ? null : g1, ...sums }
        )
        return { totals, rows }
        // not while a batch is in flight: taken off the buffer and not yet committed, its rows
        // would be in neither half of the sum
      }).pipe(flushing.withPermits(1), Effect.orDie)

    return UsageLedger.of({
      record: (row) => {
        if (buffer.length >= maxBuffer) {
          dropped++
          Effect.runSync(Metric.update(droppedRows, 1))
          return
        }
        buffer.push(row)
      },
      flush,
      query,
      stats: () => ({ pending: buffer.length, dropped })
    })
  })

/**
 * The `BudgetSeed` of this ledger: what a budget line's owner (its key or team) spent in the line's
 * period (`query` counts the rows still buffered too). Concurrent seeds of one line (the first
 * requests after a restart) share one read.
 */
export const ledgerSeed = (ledger: UsageLedgerShape): BudgetSeed => {
  const reading = new Map<string, Deferred.Deferred<number, unknown>>()
  const read = (line: BudgetLine, owner: NonNullable<BudgetLine["owner"]>) => {
    const filter = owner.kind === "key" ? { keyId: owner.id } : { team: owner.id }
    const to = line.periodEndsAt ?? Number.MAX_SAFE_INTEGER
    return Effect.map(ledger.query({ ...filter, from: line.periodStartsAt ?? 0, to }), (r) => r.totals.costUsd)
  }
  return (line) =>
    Effect.suspend(() => {
      const owner = line.owner
      if (owner === undefined) return Effect.succeed(0)
      const running = reading.get(line.id)
      if (running !== undefined) return Deferred.await(running)
      const done = Deferred.makeUnsafe<number, unknown>()
      reading.set(line.id, done)
      return read(line, owner).pipe(Effect.onExit((exit) => {
        reading.delete(line.id)
        return Deferred.done(done, exit)
      }))
    })
}

export class UsageLedger extends Context.Service<UsageLedger, UsageLedgerShape>()("@llm-gateway/storage/UsageLedger") {
  static readonly layer = (options?: UsageLedgerOptions): Layer.Layer<UsageLedger, never, GatewayDatabase> =>
    Layer.effect(this, make(options))
}
