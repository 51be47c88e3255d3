/**
 * The ledger's write of one batch through effect/sql: the statements of `ledgerSql.ts` (the one
 * copy of the ledger's SQL, which the worker thread runs on bare `node:sqlite`) in one
 * transaction. `UsageLedger` runs it in-thread: Postgres, SQLite with `writer: "inline"`, and an
 * in-memory SQLite.
 */
import { Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { SqlClient } from "effect/sql"
import type { LedgerRow } from "./ledgerTypes.ts"
import { batchStatements, type LedgerDialect } from "./ledgerSql.ts"

/** Writes one batch in one transaction: all of it or nothing (a failed batch can be retried whole). */
export const writeBatch = (s: SqlClient.SqlClient, batch: NonEmptyReadonlyArray<LedgerRow>) =>
  s.withTransaction(Effect.gen(function*() {
    // the placeholders the client's driver takes: `$1…` on Postgres, `?` on SQLite
    const dialect = s.onDialectOrElse({ pg: (): LedgerDialect => "pg", orElse: (): LedgerDialect => "sqlite" })
    for (const statement of batchStatements(batch, dialect)) {
      yield* s.unsafe(statement.sql, statement.params)
    }
  }))
