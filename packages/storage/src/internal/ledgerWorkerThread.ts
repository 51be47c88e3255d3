/**
 * The ledger worker's thread (started by `LedgerWorker.ts`): its own `node:sqlite` connection to
 * the gateway's SQLite file — opened with the main thread's options, so the same busy timeout and
 * pragmas — running `writeBatch`, the very SQL `UsageLedger` runs in-thread. It never migrates:
 * the main thread opens the ledger feature (migrations included) before its first write.
 *
 * Messages in: `{ id, rows }` (a batch, structured-cloned), or `{ close: true }`. Out: `{ id }`
 * once the batch is committed, `{ id, error }` when it is not (nothing of it written: one
 * transaction), so the main thread keeps the rows and tries again.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Cause, Effect, Exit, Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Reactivity } from "effect/reactivity"
import { type SqlClient, SqlError } from "effect/sql"
import type { LedgerRow } from "../UsageLedger.ts"
import { writeBatch } from "./ledgerWrite.ts"
import * as NodeSqliteClient from "./NodeSqliteClient.ts"

export type LedgerWorkerRequest =
  | { readonly id: number; readonly rows: NonEmptyReadonlyArray<LedgerRow> }
  | { readonly close: true }

export interface LedgerWorkerReply {
  readonly id: number
  readonly error?: string
}

const port = parentPort
if (port === null) throw new Error("ledgerWorkerThread.ts runs as a worker thread (LedgerWorker.ts starts it)")

const options = workerData as NodeSqliteClient.NodeSqliteOptions
const scope = Scope.makeUnsafe()
let client: SqlClient.SqlClient | undefined

// Opened on the first batch, not at start: a failed open (file locked, disk gone) is not kept,
// the next batch tries again.
const open = Effect.suspend(() =>
  client !== undefined
    ? Effect.succeed(client)
    : NodeSqliteClient.make(options).pipe(
      Scope.provide(scope),
      Effect.provide(Reactivity.layer),
      Effect.tap((s) => Effect.sync(() => (client = s)))
    )
)

/** The error and, for SQLite, its driver's reason (`database is locked`), like GatewayDatabase's messages. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  const message = e instanceof Error ? e.message : String(e)
  const why = SqlError.isSqlError(e) && e.reason.cause instanceof Error ? ` (${e.reason.cause.message})` : ""
  return `${message}${why}`
}

port.on("message", (request: LedgerWorkerRequest) => {
  if ("close" in request) {
    // closes the connection; with the port closed nothing keeps the thread alive and it exits
    void Effect.runPromise(Scope.close(scope, Exit.void)).finally(() => port.close())
    return
  }
  void Effect.runPromiseExit(Effect.flatMap(open, (s) => writeBatch(s, request.rows))).then((exit) => {
    const reply: LedgerWorkerReply = Exit.isSuccess(exit) ? { id: request.id } : { id: request.id, error: describe(exit.cause) }
    port.postMessage(reply)
  })
})
