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
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import { parentPort, workerData } from "node:worker_threads"
import { decodeRows, type LedgerColumns } from "./ledgerColumns.ts"
import type { LedgerRow } from "./ledgerTypes.ts"
import { batchStatements } from "./ledgerSql.ts"
import type { NodeSqliteOptions } from "./NodeSqliteClient.ts"

export type LedgerWorkerRequest =
  | { readonly id: number; readonly columns: LedgerColumns }
  | { readonly close: true }

export interface LedgerWorkerReply {
  readonly id: number
  readonly error?: string
}

const port = parentPort
if (port === null) throw new Error("ledgerWorkerThread.ts runs as a worker thread (LedgerWorker.ts starts it)")

const options = workerData as NodeSqliteOptions

/** A failure with the step that failed and SQLite's own reason (`database is locked`), for the main thread's log. */
const step = <A>(operation: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw new Error(`SQLite ${operation} failed (${e instanceof Error ? e.message : String(e)})`)
  }
}

interface Connection {
  readonly db: DatabaseSync
  /** Prepared statements by text: a batch uses at most 8 texts (`ledgerSql.ts`), the same every flush. */
  readonly statements: Map<string, StatementSync>
}

let connection: Connection | undefined

// Opened on the first batch, not at start: a failed open (file locked, disk gone) is not kept,
// the next batch tries again.
const open = (): Connection => {
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

const prepare = (c: Connection, text: string): StatementSync => {
  let statement = c.statements.get(text)
  if (statement === undefined) {
    statement = c.db.prepare(text)
    c.statements.set(text, statement)
  }
  return statement
}

/** Writes one batch in one transaction: all of it or nothing (a failed batch can be retried whole). */
const write = (rows: ReadonlyArray<LedgerRow>): void => {
  const c = open()
  // Take the write lock up front (NodeSqliteClient's beginTransaction): waits in the busy handler,
  // which blocks only this thread
  step("begin", () => c.db.exec("BEGIN IMMEDIATE"))
  try {
    step("statement", () => {
      for (const s of batchStatements(rows, "sqlite")) prepare(c, s.sql).run(...(s.params as Array<SQLInputValue>))
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

port.on("message", (request: LedgerWorkerRequest) => {
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
  let reply: LedgerWorkerReply
  try {
    write(decodeRows(request.columns))
    reply = { id: request.id }
  } catch (e) {
    reply = { id: request.id, error: e instanceof Error ? e.message : String(e) }
  }
  port.postMessage(reply)
})
