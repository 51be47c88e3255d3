/**
 * Alerts on their way to the downstream webhook, kept in the gateway's one store
 * (`GatewayDatabase`: SQLite `.data/gateway.db` by default, Postgres with `database.url` /
 * `DATABASE_URL`) until the downstream accepts them, so neither a downstream outage nor a
 * gateway restart loses one.
 *
 * One row per alert and status (`idempotencyKeyOf`: fingerprint, startsAt, status): Alertmanager
 * re-sends a group on every `repeat_interval` and with `send_resolved`, and an alert already in
 * the outbox (pending or delivered) is not added again — none duplicated. Instances sharing the
 * store claim rows with a lease before sending, so two instances never send the same row at
 * once; a lease that expires (its instance died mid-send) is claimed again.
 */
import { type Feature, GatewayDatabase, type GatewayDatabaseError } from "@llm-gateway/storage/GatewayDatabase"
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"

export const OutboxFeature: Feature = {
  name: "alert_outbox",
  migrations: {
    "1_create_alert_outbox": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE alert_outbox (
        id TEXT PRIMARY KEY,
        group_key TEXT NOT NULL,
        envelope TEXT NOT NULL,
        alert TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until BIGINT,
        delivered_at BIGINT
      )`
      // serves the pending scan (oldest first) and the depth count
      yield* sql`CREATE INDEX alert_outbox_pending ON alert_outbox (delivered_at, created_at)`
    })
  }
}

export interface OutboxEntry {
  /** The idempotency key (alert + status). */
  readonly id: string
  /** Alerts of one group travel together. */
  readonly groupKey: string
  /** The webhook payload's fields other than `alerts`, as JSON. */
  readonly envelope: string
  /** The enriched alert, as JSON. */
  readonly alert: string
}

export type OutboxError = GatewayDatabaseError | SqlError.SqlError

export interface AlertOutboxShape {
  /** Adds the entries not seen before; answers how many were new. */
  readonly add: (entries: ReadonlyArray<OutboxEntry>) => Effect.Effect<number, OutboxError>
  /** Up to `limit` pending entries, oldest first, leased to this instance for `leaseMs`. */
  readonly claim: (limit: number, leaseMs: number) => Effect.Effect<ReadonlyArray<OutboxEntry>, OutboxError>
  readonly delivered: (ids: ReadonlyArray<string>) => Effect.Effect<void, OutboxError>
  /** Gives claimed entries back (a failed send), counting the attempt. */
  readonly release: (ids: ReadonlyArray<string>) => Effect.Effect<void, OutboxError>
  /** Entries not delivered yet. */
  readonly depth: Effect.Effect<number, OutboxError>
  /** Forgets delivered entries older than `ageMs` (their keys no longer dedupe re-sends). */
  readonly prune: (ageMs: number) => Effect.Effect<void, OutboxError>
}

interface Row {
  readonly id: string
  readonly group_key: string
  readonly envelope: string
  readonly alert: string
}

export const make = Effect.gen(function*() {
  const db = yield* GatewayDatabase
  const owner = crypto.randomUUID()
  const open = db.open(OutboxFeature)

  const add = (entries: ReadonlyArray<OutboxEntry>) =>
    Effect.gen(function*() {
      if (entries.length === 0) return 0
      const sql = yield* open
      const now = yield* Clock.currentTimeMillis
      let added = 0
      yield* sql.withTransaction(Effect.forEach(entries, (e) =>
        Effect.map(
          sql<{ id: string }>`INSERT INTO alert_outbox (id, group_key, envelope, alert, created_at)
            VALUES (${e.id}, ${e.groupKey}, ${e.envelope}, ${e.alert}, ${now})
            ON CONFLICT (id) DO NOTHING RETURNING id`,
          (rows) => void (added += rows.length)
        ), { discard: true }))
      return added
    })

  const claim = (limit: number, leaseMs: number) =>
    Effect.gen(function*() {
      const sql = yield* open
      const now = yield* Clock.currentTimeMillis
      const until = now + leaseMs
      // one statement: the rows a concurrent claimer took are not free any more when it runs
      const rows = yield* sql<Row>`UPDATE alert_outbox SET lease_owner = ${owner}, lease_until = ${until}
        WHERE id IN (
          SELECT id FROM alert_outbox
          WHERE delivered_at IS NULL AND (lease_until IS NULL OR lease_until < ${now})
          ORDER BY created_at, id LIMIT ${limit}
        ) AND delivered_at IS NULL AND (lease_until IS NULL OR lease_until < ${now})
        RETURNING id, group_key, envelope, alert`
      return rows.map((r) => ({ id: r.id, groupKey: r.group_key, envelope: r.envelope, alert: r.alert }))
    })

  const delivered = (ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.void : Effect.gen(function*() {
      const sql = yield* open
      const now = yield* Clock.currentTimeMillis
      yield* sql`UPDATE alert_outbox SET delivered_at = ${now}, lease_owner = NULL, lease_until = NULL WHERE ${sql.in("id", ids)}`
    })

  const release = (ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.void : Effect.gen(function*() {
      const sql = yield* open
      yield* sql`UPDATE alert_outbox SET attempts = attempts + 1, lease_owner = NULL, lease_until = NULL
        WHERE lease_owner = ${owner} AND ${sql.in("id", ids)}`
    })

  const depth = Effect.gen(function*() {
    const sql = yield* open
    const rows = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM alert_outbox WHERE delivered_at IS NULL`
    return Number(rows[0]?.n ?? 0)
  })

  const prune = (ageMs: number) =>
    Effect.gen(function*() {
      const sql = yield* open
      const now = yield* Clock.currentTimeMillis
      yield* sql`DELETE FROM alert_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ${now - ageMs}`
    })

  return AlertOutbox.of({ add, claim, delivered, release, depth, prune })
})

export class AlertOutbox extends Context.Service<AlertOutbox, AlertOutboxShape>()("@llm-gateway/ops/AlertOutbox") {
  /** On the gateway's store. */
  static readonly layer: Layer.Layer<AlertOutbox, never, GatewayDatabase> = Layer.effect(this, make)
}
