/**
 * The gateway's own store: virtual keys, the usage ledger, the audit log, the alert outbox —
 * everything that is not a conversation. One `SqlClient`, independent of `conversations`:
 * - a SQLite file, `.data/gateway.db` relative to the working directory by default (WAL and a
 *   busy timeout, so several instances on one host share it);
 * - Postgres when `database.url` (or `DATABASE_URL`) is set.
 *
 * Opened lazily: building the layer touches nothing; the first `open` (a write) creates the
 * file and connects. Reads that can do without the store ask `openIfExists` instead, which on
 * SQLite answers `None` while no file exists yet — a gateway that never stores anything never
 * writes to disk.
 *
 * Features bring their own tables: a `Feature` is a name and its migrations (effect `Migrator`
 * entries, `"1_create_keys"`…), recorded in a migrations table of its own
 * (`gateway_migrations_<name>`), so features evolve independently and none needs to know the
 * others. Each feature's migrations run once per process, on its first `open`.
 *
 * ```ts
 * const Ledger: GatewayDatabase.Feature = { name: "ledger", migrations: { "1_create": createLedger } }
 * const sql = yield* (yield* GatewayDatabase).open(Ledger)
 * ```
 */
import { LLMConfig } from "@llm-gateway/core/config/LLMConfig"
import { Context, Effect, Exit, Layer, Option, Redacted, Schema, Scope, Semaphore } from "effect"
import { Reactivity } from "effect/reactivity"
import { Migrator, SqlClient, SqlError } from "effect/sql"
import { stat } from "node:fs/promises"
import * as NodeSqliteClient from "./internal/NodeSqliteClient.ts"

export const DefaultPath = ".data/gateway.db"

/** A set of tables owned by one feature of the gateway. */
export interface Feature {
  /** Letters, digits and `_`: names the feature's migrations table. */
  readonly name: string
  /** Append-only, keyed `"<n>_<what>"`; each runs once, in a transaction. */
  readonly migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>
}

/** The store could not be opened or migrated (a down Postgres, an unwritable path). */
export class GatewayDatabaseError extends Schema.TaggedError<GatewayDatabaseError>()("GatewayDatabaseError", {
  message: Schema.String
}) {}

export interface GatewayDatabaseShape {
  readonly dialect: "sqlite" | "pg"
  /** The file path, or `postgres` (never the URL: it may hold a password). */
  readonly location: string
  /** The client with `feature`'s tables in place; opens (and creates) the store on first use. */
  readonly open: (feature: Feature) => Effect.Effect<SqlClient.SqlClient, GatewayDatabaseError>
  /** Like `open`, but `None` while nothing was ever stored (SQLite: no file yet). */
  readonly openIfExists: (feature: Feature) => Effect.Effect<Option.Option<SqlClient.SqlClient>, GatewayDatabaseError>
  /**
   * SQLite: what the client is opened with (file, busy timeout), for a second connection to the
   * same file in another thread (the usage ledger's writer); undefined on Postgres.
   */
  readonly sqlite?: NodeSqliteClient.NodeSqliteOptions | undefined
}

export interface GatewayDatabaseOptions {
  /** Postgres (`postgres://…`): takes precedence over `path`. */
  readonly url?: Redacted.Redacted<string> | undefined
  /** The SQLite file; `.data/gateway.db` by default. */
  readonly path?: string | undefined
  /** SQLite: how long a write waits for another process's lock; 5000 ms by default. */
  readonly busyTimeoutMs?: number | undefined
  /** Postgres pool size; 10 by default. */
  readonly maxConnections?: number | undefined
}

const featureName = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/

const describe = (e: unknown): string => {
  const message = e instanceof Error || (typeof e === "object" && e !== null && "message" in e)
    ? String((e as { message: unknown }).message)
    : String(e)
  // The driver's own cause says why (ECONNREFUSED, read-only file); it never holds the URL.
  const cause = SqlError.isSqlError(e) && e.reason.cause instanceof Error ? ` (${e.reason.cause.message})` : ""
  return `${message}${cause}`
}

export const make = (options: GatewayDatabaseOptions = {}): Effect.Effect<GatewayDatabaseShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const dialect = options.url === undefined ? "sqlite" as const : "pg" as const
    const path = options.path ?? DefaultPath
    const location = dialect === "pg" ? "postgres" : path
    const sqlite: NodeSqliteClient.NodeSqliteOptions = { filename: path, busyTimeoutMs: options.busyTimeoutMs }
    const acquire: Effect.Effect<SqlClient.SqlClient, unknown, Scope.Scope | Reactivity.Reactivity> = options.url === undefined
      ? NodeSqliteClient.make(sqlite)
      // the Postgres driver loads only when a URL is configured (with node-redis loaded lazily too,
      // 7 MB less heap at start: notes/benchmarks.md, "Issue 19, sixth session")
      : Effect.flatMap(Effect.promise(() => import("@effect/sql-pg")), ({ PgClient }) =>
        PgClient.make({
          url: options.url!,
          maxConnections: options.maxConnections,
          applicationName: "llm-gateway",
          connectTimeout: "5 seconds"
        }))
    // Opening is rare and must happen once: one lock around it. A failed open (Postgres down)
    // is not remembered, so the next call tries again.
    const lock = yield* Semaphore.make(1)
    let client: SqlClient.SqlClient | undefined
    const migrated = new Set<string>()

    const connect = Effect.suspend(() => {
      if (client !== undefined) return Effect.succeed(client)
      return Effect.gen(function*() {
        const child = yield* Scope.fork(scope)
        const exit = yield* acquire.pipe(
          Scope.provide(child),
          Effect.provide(Reactivity.layer),
          Effect.exit
        )
        if (Exit.isFailure(exit)) {
          yield* Scope.close(child, Exit.void)
          return yield* Effect.failCause(exit.cause)
        }
        client = exit.value
        return exit.value
      })
    })

    const migrate = (sql: SqlClient.SqlClient, feature: Feature) =>
      migrated.has(feature.name) ? Effect.void : Migrator.make({})({
        table: `gateway_migrations_${feature.name}`,
        loader: Migrator.fromRecord(feature.migrations)
      }).pipe(
        Effect.provideService(SqlClient.SqlClient, sql),
        Effect.tap(() => Effect.sync(() => migrated.add(feature.name)))
      )

    const open = (feature: Feature): Effect.Effect<SqlClient.SqlClient, GatewayDatabaseError> => {
      if (!featureName.test(feature.name)) return Effect.die(new Error(`invalid feature name ${JSON.stringify(feature.name)}`))
      // the fast path takes no lock: once open and migrated, a call is a field read
      if (client !== undefined && migrated.has(feature.name)) return Effect.succeed(client)
      return lock.withPermits(1)(
        Effect.flatMap(connect, (sql) => Effect.as(migrate(sql, feature), sql))
      ).pipe(
        Effect.mapError((e) => new GatewayDatabaseError({ message: `gateway database (${location}) unavailable: ${describe(e)}` }))
      )
    }

    const exists = Effect.suspend(() =>
      client !== undefined || dialect === "pg"
        ? Effect.succeed(true)
        : Effect.promise(() => stat(path).then(() => true, () => false))
    )

    return {
      dialect,
      location,
      sqlite: dialect === "sqlite" ? sqlite : undefined,
      open,
      openIfExists: (feature) =>
        Effect.flatMap(exists, (yes) => yes ? Effect.map(open(feature), Option.some) : Effect.succeed(Option.none()))
    } satisfies GatewayDatabaseShape
  })

export class GatewayDatabase extends Context.Service<GatewayDatabase, GatewayDatabaseShape>()(
  "@llm-gateway/storage/GatewayDatabase"
) {
  static readonly layer = (options: GatewayDatabaseOptions = {}): Layer.Layer<GatewayDatabase> =>
    Layer.effect(this, make(options))

  /** From the gateway config: `database.url` (or `DATABASE_URL`), else the SQLite file. */
  static readonly layerConfig: Layer.Layer<GatewayDatabase, never, LLMConfig> = Layer.effect(
    this,
    Effect.flatMap(LLMConfig, (config) =>
      make({
        url: config.database?.url,
        path: config.database?.path
      }))
  )
}
