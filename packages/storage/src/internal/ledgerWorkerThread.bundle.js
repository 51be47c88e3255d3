// GENERATED from ledgerColumns.ts, ledgerSql.ts and ledgerWorkerThread.ts by packages/storage/test/ledgerWorkerBundle.ts:
// do not edit. Why it exists and how to remake it: that file.
/**
 * A batch of ledger rows as columns, for the message to the writer thread (`LedgerWorker.ts`).
 *
 * Why: `postMessage` structured-clones what it sends, and a row object is cloned with every one of
 * its 18 property names, every row: with ~10,000 rows a second at saturation that was ~3 µs of
 * the main thread per request (CPU profile, 2026-12-07, notes/benchmarks.md). As columns, the
 * numbers are two typed arrays whose buffers are transferred (moved, not copied), and the
 * strings, which repeat (scope, task, model, provider), go once each in a table that the rows
 * index. The thread decodes the rows again; `decodeRows(encodeRows(rows))` equals `rows`
 * (ledgerColumns.property.test.ts).
 *
 * No imports at run time: the thread's bundle inlines this file (test/ledgerWorkerBundle.ts).
 */


/** The numeric fields, in column order. */
const NUMBERS = [
  "at",
  "attempts",
  "status",
  "promptTokens",
  "completionTokens",
  "cachedTokens",
  "reasoningTokens",
  "costUsd",
  "latencyMs"
]



                                    









const WIDTH = NUMBERS.length
const STRINGS = 7

export const encodeRows = (rows                          )                => {
  const n = rows.length
  const numbers = new Float64Array(n * WIDTH)
  const refs = new Uint32Array(n * STRINGS)
  const cacheHit = new Uint8Array(n)
  const strings                = [""]
  const index = new Map                ()
  const ref = (s               )         => {
    if (s === null) return 0
    let i = index.get(s)
    if (i === undefined) {
      i = strings.push(s) - 1
      index.set(s, i)
    }
    return i
  }
  let bodies
  for (let i = 0; i < n; i++) {
    const r = rows[i]
    const at = i * WIDTH
    numbers[at] = r.at
    numbers[at + 1] = r.attempts
    numbers[at + 2] = r.status
    numbers[at + 3] = r.promptTokens
    numbers[at + 4] = r.completionTokens
    numbers[at + 5] = r.cachedTokens
    numbers[at + 6] = r.reasoningTokens
    numbers[at + 7] = r.costUsd
    numbers[at + 8] = r.latencyMs
    const s = i * STRINGS
    refs[s] = ref(r.keyId)
    refs[s + 1] = ref(r.team)
    refs[s + 2] = ref(r.scope)
    refs[s + 3] = ref(r.task)
    refs[s + 4] = ref(r.requestedModel)
    refs[s + 5] = ref(r.model)
    refs[s + 6] = ref(r.provider)
    cacheHit[i] = r.cacheHit ? 1 : 0
    if ("body" in r) (bodies ??= new Array(n))[i] = r.body
  }
  return bodies === undefined ? { n, numbers, refs, strings, cacheHit } : { n, numbers, refs, strings, cacheHit, bodies }
}

/** The buffers `postMessage` can move instead of copying. */
export const transferables = (c               )                     => [c.numbers.buffer, c.refs.buffer, c.cacheHit.buffer]

export const decodeRows = (c               )                   => {
  const rows                   = new Array(c.n)
  const { numbers, refs, strings } = c
  const str = (i        )                => (i === 0 ? null : strings[i])
  for (let i = 0; i < c.n; i++) {
    const at = i * WIDTH
    const s = i * STRINGS
    const row                                                     = {
      at: numbers[at],
      keyId: str(refs[s]),
      team: str(refs[s + 1]),
      scope: strings[refs[s + 2]],
      task: strings[refs[s + 3]],
      requestedModel: str(refs[s + 4]),
      model: strings[refs[s + 5]],
      provider: strings[refs[s + 6]],
      attempts: numbers[at + 1],
      status: numbers[at + 2],
      promptTokens: numbers[at + 3],
      completionTokens: numbers[at + 4],
      cachedTokens: numbers[at + 5],
      reasoningTokens: numbers[at + 6],
      costUsd: numbers[at + 7],
      latencyMs: numbers[at + 8],
      cacheHit: c.cacheHit[i] === 1
    }
    if (c.bodies !== undefined && i in c.bodies) row.body = c.bodies[i]
    rows[i] = row
  }
  return rows
}

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









export const DAY = 86_400_000

export const dayOf = (ms        ) => Math.floor(ms / DAY) * DAY

/** `gateway_usage`'s columns, in the order `rowParams` gives their values. */
const ROW_COLUMNS = [
  "at", "key_id", "team", "scope", "task", "requested_model", "model", "provider", "attempts", "status",
  "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_usd", "latency_ms",
  "cache_hit", "body"
]

const rowParams = (r           )                 => [
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
export const insertChunks = (n        )                                   => {
  const out                                   = []
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
const values = (dialect               , rows        , width        )         => {
  const tuples                = []
  for (let r = 0; r < rows; r++) {
    const marks                = []
    for (let c = 0; c < width; c++) marks.push(dialect === "pg" ? `$${r * width + c + 1}` : "?")
    tuples.push(`(${marks.join(", ")})`)
  }
  return tuples.join(", ")
}

// The texts are few (7 chunk sizes, 1 rollup) and built on every flush otherwise: kept per dialect.
const insertTexts = new Map                ()
const insertSql = (dialect               , rows        )         => {
  const k = `${dialect}:${rows}`
  let text = insertTexts.get(k)
  if (text === undefined) {
    text = `INSERT INTO gateway_usage (${ROW_COLUMNS.join(", ")}) VALUES ${values(dialect, rows, ROW_COLUMNS.length)}`
    insertTexts.set(k, text)
  }
  return text
}















/** `gateway_usage_daily`'s columns, in `Rollup`'s order; its primary key is the first seven. */
const ROLLUP_COLUMNS = [
  "day", "scope", "key_id", "team", "task", "model", "provider", "requests", "prompt_tokens", "completion_tokens", "cost_usd"
]

/** The batch's sums per day, scope, key, team, task, model and provider ('' for no key / team: see the migration). */
export const rollupsOf = (rows                          )                => {
  const byKey = new Map                ()
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
const rollupSql = (dialect               ) =>
  `INSERT INTO gateway_usage_daily (${ROLLUP_COLUMNS.join(", ")}) VALUES ${values(dialect, 1, ROLLUP_COLUMNS.length)}
        ON CONFLICT (day, scope, key_id, team, task, model, provider) DO UPDATE SET
          requests = gateway_usage_daily.requests + excluded.requests,
          prompt_tokens = gateway_usage_daily.prompt_tokens + excluded.prompt_tokens,
          completion_tokens = gateway_usage_daily.completion_tokens + excluded.completion_tokens,
          cost_usd = gateway_usage_daily.cost_usd + excluded.cost_usd`
const rollupTexts                                = { sqlite: rollupSql("sqlite"), pg: rollupSql("pg") }

/**
 * The statements writing one batch, in order; the caller runs them in one transaction (all of the
 * batch or nothing, so a failed batch can be retried whole).
 */
export const batchStatements = (batch                          , dialect               )                         => {
  const out                         = []
  for (const [from, to] of insertChunks(batch.length)) {
    const params                 = []
    for (let i = from; i < to; i++) params.push(...rowParams(batch[i] ))
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

/**
 * The ledger worker's thread (started by `LedgerWorker.ts`): its own `node:sqlite` connection to
 * the gateway's SQLite file, opened like the main thread's (`NodeSqliteClient.ts`: the same busy
 * timeout and pragmas, `BEGIN IMMEDIATE` transactions), running the statements of `ledgerSql.ts`,
 * the very SQL `UsageLedger` runs in-thread. It never migrates: the main thread opens the ledger
 * feature (migrations included) before its first write, and so has made the file and its folder.
 *
 * Bare `node:sqlite`, no effect: this thread imports only `node:worker_threads`, `node:sqlite`,
 * `ledgerColumns.ts` and `ledgerSql.ts` (the `import type`s below are erased), which keeps its isolate small: with
 * effect and effect/sql loaded it cost +74–83 MB RSS, without +26 MB (figures: LedgerWorker.ts).
 *
 * Messages in: `{ id, columns }` (a batch as columns, `ledgerColumns.ts`), or `{ close: true }`. Out: `{ id }`
 * once the batch is committed, `{ id, error }` when it is not (nothing of it written: one
 * transaction), so the main thread keeps the rows and tries again.
 */
import { DatabaseSync,                                        } from "node:sqlite"
import { parentPort, workerData } from "node:worker_threads"












const port = parentPort
if (port === null) throw new Error("ledgerWorkerThread.ts runs as a worker thread (LedgerWorker.ts starts it)")

const options = workerData

/** A failure with the step that failed and SQLite's own reason (`database is locked`), for the main thread's log. */
const step =    (operation        , f         )    => {
  try {
    return f()
  } catch (e) {
    throw new Error(`SQLite ${operation} failed (${e instanceof Error ? e.message : String(e)})`)
  }
}







let connection

// Opened on the first batch, not at start: a failed open (file locked, disk gone) is not kept,
// the next batch tries again.
const open = ()             => {
  if (connection !== undefined) return connection
  const db = step("open", () => new DatabaseSync(options.filename, { timeout: options.busyTimeoutMs ?? 5000 }))
  try {
    // as NodeSqliteClient: WAL lets readers (the main thread's connection) proceed during a write;
    // NORMAL sync is durable across application crashes in WAL mode
    step("open", () => db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON"))
  } catch (e) {
    db.close()
    throw e
  }
  return (connection = { db, statements: new Map() })
}

const prepare = (c            , text        )                => {
  let statement = c.statements.get(text)
  if (statement === undefined) {
    statement = c.db.prepare(text)
    c.statements.set(text, statement)
  }
  return statement
}

/** Writes one batch in one transaction: all of it or nothing (a failed batch can be retried whole). */
const write = (rows                          )       => {
  const c = open()
  // Take the write lock up front (NodeSqliteClient's beginTransaction): waits in the busy handler,
  // which blocks only this thread
  step("begin", () => c.db.exec("BEGIN IMMEDIATE"))
  try {
    step("statement", () => {
      for (const s of batchStatements(rows, "sqlite")) prepare(c, s.sql).run(...(s.params                        ))
    })
    step("commit", () => c.db.exec("COMMIT"))
  } catch (e) {
    // a failed COMMIT (busy) leaves the transaction open too
    if (c.db.isTransaction) {
      try {
        c.db.exec("ROLLBACK")
      } catch {
        // SQLite already rolled back (some errors do): nothing to undo
      }
    }
    throw e
  }
}

port.on("message", (request                     ) => {
  if ("close" in request) {
    // closes the connection; with the port closed nothing keeps the thread alive and it exits
    try {
      connection?.db.close()
    } finally {
      connection = undefined
      port.close()
    }
    return
  }
  let reply
  try {
    write(decodeRows(request.columns))
    reply = { id: request.id }
  } catch (e) {
    reply = { id: request.id, error: e instanceof Error ? e.message : String(e) }
  }
  port.postMessage(reply)
})
