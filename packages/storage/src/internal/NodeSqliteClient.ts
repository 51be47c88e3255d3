/**
 * A minimal effect `SqlClient` over `node:sqlite` (built into Node 24).
 *
 * Why our own: `@effect/sql-sqlite-node` 4.x fails to import with effect 4.1 and needs the
 * native `better-sqlite3`; `node:sqlite` needs nothing. effect ships the hard parts
 * (`Statement.makeCompilerSqlite`, `SqlClient.makeSqliteAcquirers` for sharing one connection
 * through a semaphore, transactions and savepoints in `SqlClient.make`), so this file only
 * runs compiled SQL on a `DatabaseSync`.
 *
 * One connection per client: `DatabaseSync` is synchronous, so a second connection in the
 * same process waiting on SQLite's busy handler would block the event loop that the first
 * needs to commit. Within a process the semaphore serialises; across processes (the server
 * and a CLI on the same file) `BEGIN IMMEDIATE` plus the busy timeout do, and so they do for a
 * client in another thread (the usage ledger's writer): its waits block only that thread.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import { Effect, Layer, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, SqlError, Statement } from "effect/sql"
import type { SqlConnection } from "effect/sql"

export interface NodeSqliteOptions {
  /** A file path (its folder is created) or `:memory:`. */
  readonly filename: string
  /** How long a write waits for another process's lock before failing; 5 s by default. */
  readonly busyTimeoutMs?: number | undefined
}

const StatementCacheSize = 256

const fail = (operation: string) => (cause: unknown) =>
  new SqlError.SqlError({ reason: SqlError.classifySqliteError(cause, { message: `SQLite ${operation} failed`, operation }) })

const openDatabase = (options: NodeSqliteOptions) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        if (options.filename !== ":memory:" && !options.filename.startsWith("file:")) {
          mkdirSync(dirname(options.filename), { recursive: true })
        }
        const db = new DatabaseSync(options.filename, { timeout: options.busyTimeoutMs ?? 5000 })
        try {
          // WAL lets readers in other processes proceed during a write; NORMAL sync is
          // durable across application crashes in WAL mode (the SQLite docs' recommendation).
          db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
        } catch (cause) {
          db.close()
          throw cause
        }
        return db
      },
      catch: fail("open")
    }),
    (db) => Effect.sync(() => db.close())
  )

const makeConnection = (db: DatabaseSync): SqlConnection.Connection => {
  // The SQL texts a store issues are few and fixed; the bound only guards against misuse.
  const cache = new Map<string, StatementSync>()
  const prepare = (sql: string): StatementSync => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      if (cache.size >= StatementCacheSize) cache.clear()
      statement = db.prepare(sql)
      cache.set(sql, statement)
    }
    return statement
  }
  const params = (values: ReadonlyArray<unknown>) => values as Array<null | number | bigint | string | Uint8Array>
  const rows = (statement: StatementSync, values: ReadonlyArray<unknown>): ReadonlyArray<any> => {
    // A statement returns rows when it has result columns (SELECT, or a write with RETURNING).
    if (statement.columns().length > 0) return statement.all(...params(values))
    statement.run(...params(values))
    return []
  }
  const execute = (sql: string, values: ReadonlyArray<unknown>, prepared: boolean) =>
    Effect.try({ try: () => rows(prepared ? prepare(sql) : db.prepare(sql), values), catch: fail("statement") })
  const values = (sql: string, values: ReadonlyArray<unknown>, prepared: boolean) =>
    Effect.try({
      try: () => {
        const statement = prepared ? prepare(sql) : db.prepare(sql)
        if (statement.columns().length === 0) {
          statement.run(...params(values))
          return []
        }
        statement.setReturnArrays(true)
        try {
          return statement.all(...params(values)) as unknown as ReadonlyArray<ReadonlyArray<unknown>>
        } finally {
          statement.setReturnArrays(false)
        }
      },
      catch: fail("statement")
    })
  const transform = <A>(effect: Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>, f: ((rows: ReadonlyArray<any>) => ReadonlyArray<any>) | undefined) =>
    f === undefined ? effect : Effect.map(effect, f)

  return {
    execute: (sql, values, transformRows) => transform(execute(sql, values, true), transformRows),
    executeUnprepared: (sql, values, transformRows) => transform(execute(sql, values, false), transformRows),
    executeRaw: (sql, values) =>
      Effect.try({ try: () => prepare(sql).run(...params(values)), catch: fail("statement") }),
    executeValues: (sql, v) => values(sql, v, true),
    executeValuesUnprepared: (sql, v) => values(sql, v, false),
    executeStream: (sql, values, transformRows) =>
      Stream.fromIterableEffect(transform(execute(sql, values, true), transformRows))
  }
}

export const make = Effect.fnUntraced(function*(options: NodeSqliteOptions) {
  const db = yield* openDatabase(options)
  const connection = makeConnection(db)
  const semaphore = yield* Semaphore.make(1)
  const acquirers = SqlClient.makeSqliteAcquirers({
    connection: Effect.succeed(connection),
    semaphore,
    isTransaction: () => db.isTransaction
  })
  return yield* SqlClient.make({
    ...acquirers,
    compiler: Statement.makeCompilerSqlite(),
    driver: "node-sqlite",
    spanAttributes: [["db.system.name", "sqlite"]],
    // Take the write lock up front: a deferred transaction that reads and then writes can
    // fail with SQLITE_BUSY without waiting when another process wrote in between.
    beginTransaction: "BEGIN IMMEDIATE"
  })
})

/** Provides `SqlClient` on one `node:sqlite` connection, closed with the layer. */
export const layer = (options: NodeSqliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(options)).pipe(Layer.provide(Reactivity.layer))
