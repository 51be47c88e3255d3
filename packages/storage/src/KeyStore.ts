/**
 * Virtual keys, teams and the admin audit log, in the GatewayDatabase (feature `keys`).
 *
 * A key is `sk-gw-<id>-<secret>`: the id finds the row, the secret is kept only as a salted
 * SHA-256 (`salt`, `hash`), compared in constant time. The full key is returned once, by
 * `create` and `rotate`, and never stored or logged.
 *
 * Teams are named (the name is the id); a key's `team` names one. Deleting a key or a team
 * marks it revoked/deleted (rows stay, so the ledger and audit log keep their references).
 * Every change goes through `audit`, in the same transaction as the change.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { type Feature, GatewayDatabase, type GatewayDatabaseError } from "./GatewayDatabase.ts"

export type BudgetPeriod = "day" | "month" | "total"

export interface Limits {
  readonly models?: ReadonlyArray<string> | null | undefined
  readonly tasks?: ReadonlyArray<string> | null | undefined
  readonly rpm?: number | null | undefined
  readonly tpm?: number | null | undefined
  readonly budgetUsd?: number | null | undefined
  readonly budgetPeriod?: BudgetPeriod | null | undefined
  /** Epoch ms. */
  readonly expiresAt?: number | null | undefined
}

export interface KeyInput extends Limits {
  readonly name: string
  readonly team?: string | null | undefined
}

export interface KeyRecord {
  readonly id: string
  readonly name: string
  readonly team: string | null
  /** The first characters of the key, to recognise it in a list. */
  readonly prefix: string
  readonly models: ReadonlyArray<string> | null
  readonly tasks: ReadonlyArray<string> | null
  readonly rpm: number | null
  readonly tpm: number | null
  readonly budgetUsd: number | null
  readonly budgetPeriod: BudgetPeriod
  readonly expiresAt: number | null
  readonly createdAt: number
  readonly revokedAt: number | null
}

export interface TeamRecord {
  readonly id: string
  readonly budgetUsd: number | null
  readonly budgetPeriod: BudgetPeriod
  readonly createdAt: number
  readonly deletedAt: number | null
}

export interface TeamInput {
  readonly name: string
  readonly budgetUsd?: number | null | undefined
  readonly budgetPeriod?: BudgetPeriod | null | undefined
}

export interface AuditEntry {
  readonly at: number
  readonly actor: string
  readonly action: string
  readonly target: string
  readonly detail: string | null
}

type E = GatewayDatabaseError

export interface KeyStoreShape {
  readonly create: (input: KeyInput, actor: string) => Effect.Effect<{ readonly record: KeyRecord; readonly key: string }, E>
  readonly list: Effect.Effect<ReadonlyArray<KeyRecord>, E>
  readonly get: (id: string) => Effect.Effect<Option.Option<KeyRecord>, E>
  readonly update: (id: string, patch: Limits & { readonly name?: string; readonly team?: string | null }, actor: string) => Effect.Effect<Option.Option<KeyRecord>, E>
  readonly rotate: (id: string, actor: string) => Effect.Effect<Option.Option<{ readonly record: KeyRecord; readonly key: string }>, E>
  readonly revoke: (id: string, actor: string) => Effect.Effect<Option.Option<KeyRecord>, E>
  /** The record of a presented key when its secret matches (revoked or expired included). */
  readonly verify: (key: string) => Effect.Effect<Option.Option<KeyRecord>, E>
  readonly createTeam: (input: TeamInput, actor: string) => Effect.Effect<TeamRecord, E>
  readonly listTeams: Effect.Effect<ReadonlyArray<TeamRecord>, E>
  readonly getTeam: (id: string) => Effect.Effect<Option.Option<TeamRecord>, E>
  readonly updateTeam: (id: string, patch: Omit<TeamInput, "name">, actor: string) => Effect.Effect<Option.Option<TeamRecord>, E>
  readonly deleteTeam: (id: string, actor: string) => Effect.Effect<Option.Option<TeamRecord>, E>
  readonly audit: Effect.Effect<ReadonlyArray<AuditEntry>, E>
}

export const KeysFeature: Feature = {
  name: "keys",
  migrations: {
    "1_create_keys": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE gateway_keys (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT, prefix TEXT NOT NULL,
        salt TEXT NOT NULL, hash TEXT NOT NULL,
        models TEXT, tasks TEXT, rpm INTEGER, tpm INTEGER,
        budget_usd DOUBLE PRECISION, budget_period TEXT NOT NULL,
        expires_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, revoked_at BIGINT
      )`
      yield* sql`CREATE TABLE gateway_teams (
        id TEXT PRIMARY KEY, budget_usd DOUBLE PRECISION, budget_period TEXT NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT
      )`
      yield* sql`CREATE TABLE gateway_audit (
        id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL, detail TEXT
      )`
      yield* sql`CREATE INDEX gateway_audit_at ON gateway_audit (at)`
    })
  }
}

const KeyPattern = /^sk-gw-([0-9a-f]{16})-([A-Za-z0-9_-]{20,})$/

const hashOf = (salt: string, secret: string) => createHash("sha256").update(salt).update(secret).digest("hex")

const json = (list: ReadonlyArray<string> | null | undefined) => (list === null || list === undefined ? null : JSON.stringify(list))

interface KeyRow {
  id: string
  name: string
  team: string | null
  prefix: string
  salt: string
  hash: string
  models: string | null
  tasks: string | null
  rpm: number | null
  tpm: number | null
  budget_usd: number | null
  budget_period: string
  expires_at: number | string | null
  created_at: number | string
  revoked_at: number | string | null
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v))

const toKey = (r: KeyRow): KeyRecord => ({
  id: r.id,
  name: r.name,
  team: r.team,
  prefix: r.prefix,
  models: r.models === null ? null : JSON.parse(r.models),
  tasks: r.tasks === null ? null : JSON.parse(r.tasks),
  rpm: num(r.rpm),
  tpm: num(r.tpm),
  budgetUsd: num(r.budget_usd),
  budgetPeriod: r.budget_period as BudgetPeriod,
  expiresAt: num(r.expires_at),
  createdAt: Number(r.created_at),
  revokedAt: num(r.revoked_at)
})

interface TeamRow {
  id: string
  budget_usd: number | null
  budget_period: string
  created_at: number | string
  deleted_at: number | string | null
}

const toTeam = (r: TeamRow): TeamRecord => ({
  id: r.id,
  budgetUsd: num(r.budget_usd),
  budgetPeriod: r.budget_period as BudgetPeriod,
  createdAt: Number(r.created_at),
  deletedAt: num(r.deleted_at)
})

let auditSeq = 0

const newSecret = () => {
  const secret = randomBytes(24).toString("base64url")
  const salt = randomBytes(16).toString("hex")
  return { secret, salt, hash: hashOf(salt, secret) }
}

export const make = Effect.gen(function*() {
  const db = yield* GatewayDatabase
  const sql = db.open(KeysFeature)
  const first = <A>(rows: ReadonlyArray<A>) => Option.fromNullishOr(rows[0])

  const audit = (s: SqlClient.SqlClient, actor: string, action: string, target: string, detail?: unknown) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      s`INSERT INTO gateway_audit ${
        s.insert({
          // time-ordered: entries of one millisecond keep their order
          id: `${at.toString(36).padStart(10, "0")}${(auditSeq++).toString(36).padStart(8, "0")}${randomBytes(4).toString("hex")}`,
          at,
          actor,
          action,
          target,
          detail: detail === undefined ? null : JSON.stringify(detail)
        })
      }`)

  const getKey = (s: SqlClient.SqlClient, id: string) =>
    Effect.map(s<KeyRow>`SELECT * FROM gateway_keys WHERE id = ${id}`, (rows) => Option.map(first(rows), toKey))
  const getTeam = (s: SqlClient.SqlClient, id: string) =>
    Effect.map(s<TeamRow>`SELECT * FROM gateway_teams WHERE id = ${id}`, (rows) => Option.map(first(rows), toTeam))

  /** Runs `f` on the client; SQL failures are defects (the caller cannot act on them). */
  const q = <A>(f: (s: SqlClient.SqlClient) => Effect.Effect<A, unknown>) => Effect.flatMap(sql, (s) => Effect.orDie(f(s)))
  /** Runs `f` in a transaction. */
  const tx = <A>(f: (s: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
    Effect.flatMap(sql, (s) => s.withTransaction(f(s)).pipe(Effect.orDie))

  const limitsColumns = (l: Limits) => {
    const c: Record<string, unknown> = {}
    if (l.models !== undefined) c.models = json(l.models)
    if (l.tasks !== undefined) c.tasks = json(l.tasks)
    if (l.rpm !== undefined) c.rpm = l.rpm
    if (l.tpm !== undefined) c.tpm = l.tpm
    if (l.budgetUsd !== undefined) c.budget_usd = l.budgetUsd
    if (l.budgetPeriod !== undefined && l.budgetPeriod !== null) c.budget_period = l.budgetPeriod
    if (l.expiresAt !== undefined) c.expires_at = l.expiresAt
    return c
  }

  return KeyStore.of({
    create: (input, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const id = randomBytes(8).toString("hex")
          const { secret, salt, hash } = newSecret()
          const key = `sk-gw-${id}-${secret}`
          yield* s`INSERT INTO gateway_keys ${
            s.insert({
              id,
              name: input.name,
              team: input.team ?? null,
              prefix: key.slice(0, 12),
              salt,
              hash,
              models: null,
              tasks: null,
              rpm: null,
              tpm: null,
              budget_usd: null,
              budget_period: "month",
              expires_at: null,
              created_at: now,
              updated_at: now,
              revoked_at: null,
              ...limitsColumns(input)
            })
          }`
          yield* audit(s, actor, "key.create", id, { name: input.name, team: input.team ?? null })
          const record = Option.getOrThrow(yield* getKey(s, id))
          return { record, key }
        })
      ),
    list: q((s) => s<KeyRow>`SELECT * FROM gateway_keys ORDER BY created_at, id`).pipe(
      Effect.map((rows) => rows.map(toKey))
    ),
    get: (id) => q((s) => getKey(s, id)),
    update: (id, patch, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const cols: Record<string, unknown> = { ...limitsColumns(patch), updated_at: yield* Clock.currentTimeMillis }
          if (patch.name !== undefined) cols.name = patch.name
          if (patch.team !== undefined) cols.team = patch.team
          yield* s`UPDATE gateway_keys SET ${s.update(cols)} WHERE id = ${id}`
          const found = yield* getKey(s, id)
          if (Option.isSome(found)) yield* audit(s, actor, "key.update", id, patch)
          return found
        })
      ),
    rotate: (id, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const { secret, salt, hash } = newSecret()
          const key = `sk-gw-${id}-${secret}`
          const now = yield* Clock.currentTimeMillis
          yield* s`UPDATE gateway_keys SET ${s.update({ salt, hash, prefix: key.slice(0, 12), updated_at: now })}
            WHERE id = ${id} AND revoked_at IS NULL`
          const found = yield* getKey(s, id)
          if (Option.isNone(found) || found.value.revokedAt !== null) return Option.none()
          yield* audit(s, actor, "key.rotate", id)
          return Option.some({ record: found.value, key })
        })
      ),
    revoke: (id, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* s`UPDATE gateway_keys SET ${s.update({ revoked_at: now, updated_at: now })}
            WHERE id = ${id} AND revoked_at IS NULL`
          const found = yield* getKey(s, id)
          if (Option.isSome(found)) yield* audit(s, actor, "key.revoke", id)
          return found
        })
      ),
    verify: (key) => {
      const m = KeyPattern.exec(key)
      if (m === null) return Effect.succeed(Option.none())
      const [, id, secret] = m
      return Effect.flatMap(db.openIfExists(KeysFeature), (client) =>
        Option.isNone(client)
          ? Effect.succeed(Option.none<KeyRecord>())
          : Effect.map(client.value<KeyRow>`SELECT * FROM gateway_keys WHERE id = ${id}`.pipe(Effect.orDie), (rows) => {
            const row = rows[0]
            if (row === undefined) return Option.none()
            const ok = timingSafeEqual(Buffer.from(hashOf(row.salt, secret), "hex"), Buffer.from(row.hash, "hex"))
            return ok ? Option.some(toKey(row)) : Option.none()
          }))
    },
    createTeam: (input, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          // creating a deleted team's name again brings it back with the new limits
          yield* s`DELETE FROM gateway_teams WHERE id = ${input.name} AND deleted_at IS NOT NULL`
          yield* s`INSERT INTO gateway_teams ${
            s.insert({
              id: input.name,
              budget_usd: input.budgetUsd ?? null,
              budget_period: input.budgetPeriod ?? "month",
              created_at: now,
              updated_at: now,
              deleted_at: null
            })
          }`
          yield* audit(s, actor, "team.create", input.name, input)
          return Option.getOrThrow(yield* getTeam(s, input.name))
        })
      ),
    listTeams: q((s) => s<TeamRow>`SELECT * FROM gateway_teams WHERE deleted_at IS NULL ORDER BY id`).pipe(
      Effect.map((rows) => rows.map(toTeam))
    ),
    getTeam: (id) => q((s) => getTeam(s, id)),
    updateTeam: (id, patch, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const cols: Record<string, unknown> = { updated_at: yield* Clock.currentTimeMillis }
          if (patch.budgetUsd !== undefined) cols.budget_usd = patch.budgetUsd
          if (patch.budgetPeriod !== undefined && patch.budgetPeriod !== null) cols.budget_period = patch.budgetPeriod
          yield* s`UPDATE gateway_teams SET ${s.update(cols)} WHERE id = ${id} AND deleted_at IS NULL`
          const found = Option.filter(yield* getTeam(s, id), (t) => t.deletedAt === null)
          if (Option.isSome(found)) yield* audit(s, actor, "team.update", id, patch)
          return found
        })
      ),
    deleteTeam: (id, actor) =>
      tx((s) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* s`UPDATE gateway_teams SET ${s.update({ deleted_at: now, updated_at: now })} WHERE id = ${id} AND deleted_at IS NULL`
          const found = yield* getTeam(s, id)
          if (Option.isSome(found)) yield* audit(s, actor, "team.delete", id)
          return found
        })
      ),
    audit: q((s) =>
      s<{ at: number | string; actor: string; action: string; target: string; detail: string | null }>`
        SELECT at, actor, action, target, detail FROM gateway_audit ORDER BY id`).pipe(
        Effect.map((rows) => rows.map((r) => ({ ...r, at: Number(r.at) })))
      )
  })
})

export class KeyStore extends Context.Service<KeyStore, KeyStoreShape>()("@llm-gateway/storage/KeyStore") {
  static readonly layer: Layer.Layer<KeyStore, never, GatewayDatabase> = Layer.effect(this, make)
}
