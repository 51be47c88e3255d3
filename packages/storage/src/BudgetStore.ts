/**
 * Budget reservations that concurrency cannot overshoot.
 *
 * A request reserves its worst-case cost against every budget that covers it (its key's, its
 * team's) in one atomic step: either every budget has room for `spent + reserved + amount ≤
 * limit` and the amount is reserved on all of them, or nothing is reserved and the first budget
 * without room is reported. When the request finishes, `settle` releases the reservation and
 * adds the real cost to `spent`. A reservation not settled by its expiry (its instance died) is
 * released by the next reserve on that budget.
 *
 * The guarantee: total settled spend ≤ limit, for any number of concurrent requests on any
 * number of instances sharing the store, provided each request's real cost ≤ what it reserved
 * and settles before its reservation expires (the caller caps output tokens to the reserved
 * amount and sets the expiry above the request timeout).
 *
 * Stores: Redis (one Lua script per reserve and per settle; every instance shares the counters)
 * whenever `redis.url` is set; else Postgres when the gateway's store is Postgres (`database.url`:
 * one row per budget, reserved with one conditional `UPDATE … RETURNING` each, internal/pgBudgets);
 * else this instance's memory. Amounts are integer nano-USD so no
 * float drift accumulates in the counters.
 *
 * Seeded (`BudgetSeed`, the usage ledger's sum): a counter a store first meets starts from what
 * its owner already spent in the period, so a restart (memory), a flushed or new Redis, or a
 * Postgres row made mid-period does not hand the budget back. A seed that cannot be read
 * refuses the reservation (fail closed, as a store outage does) and is tried again on the next.
 */
import { LLMConfig } from "@llm-gateway/core/config/LLMConfig"
import { Cause, Clock, Context, Effect, Layer, Redacted } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Redis from "effect/persistence/Redis"
import { unseededRefusal } from "./internal/budgetRefusal.ts"
import { limitNano, NANO, reservationId, reserveNano, spendNano } from "./internal/budgetUnits.ts"
import type { BudgetLine, BudgetSeed, BudgetStoreShape, Reservation } from "./internal/budgetTypes.ts"
import { makePostgres } from "./internal/pgBudgets.ts"
import { makeResilientRedis } from "./internal/redisClient.ts"
import { GatewayDatabase } from "./GatewayDatabase.ts"

export type { BudgetLine, BudgetSeed, BudgetStoreShape, Reservation } from "./internal/budgetTypes.ts"

interface MemoryBudget {
  spent: number
  reserved: number
  readonly holds: Map<string, { readonly amount: number; readonly expiresAt: number }>
}

/** This instance's memory: synchronous, hence atomic; a line met for the first time is seeded first. */
export const makeMemory = (seed?: BudgetSeed) => Effect.sync(() => {
  const budgets = new Map<string, MemoryBudget>()
  const budget = (id: string) => {
    let b = budgets.get(id)
    if (b === undefined) {
      b = { spent: 0, reserved: 0, holds: new Map() }
      budgets.set(id, b)
    }
    return b
  }
  /** Seeds the lines this instance has no counter for; the refusal of the first whose seed failed, if any. */
  const seedNew = (seed: BudgetSeed, lines: ReadonlyArray<BudgetLine>): Effect.Effect<Reservation | undefined> =>
    Effect.gen(function*() {
      for (const line of lines) {
        if (budgets.has(line.id)) continue
        const exit = yield* Effect.exit(seed(line))
        if (exit._tag === "Failure") return yield* unseededRefusal(line, Cause.squash(exit.cause))
        // a concurrent reserve may have seeded it meanwhile: the first seed stands
        if (!budgets.has(line.id)) budgets.set(line.id, { spent: spendNano(exit.value), reserved: 0, holds: new Map() })
      }
      return undefined
    })
  const expire = (b: MemoryBudget, now: number) => {
    for (const [id, h] of b.holds) {
      if (h.expiresAt > now) continue
      b.holds.delete(id)
      b.reserved -= h.amount
    }
  }
  const reserveSeeded = (lines: ReadonlyArray<BudgetLine>, amountUsd: number, expiresInMs: number) =>
    Effect.map(Clock.currentTimeMillis, (now): Reservation => {
      const amount = reserveNano(amountUsd)
      for (const line of lines) {
        const b = budget(line.id)
        expire(b, now)
        const room = limitNano(line.limitUsd) - b.spent - b.reserved
        if (amount > room) return { ok: false, line, remainingUsd: Math.max(0, room) / NANO }
      }
      const id = reservationId()
      for (const line of lines) {
        const b = budget(line.id)
        b.reserved += amount
        b.holds.set(id, { amount, expiresAt: now + expiresInMs })
      }
      return { ok: true, id }
    })
  return {
    kind: "memory",
    reserve: (lines, amountUsd, expiresInMs) =>
      Effect.flatMap(
        seed === undefined || lines.every((l) => budgets.has(l.id)) ? Effect.succeed(undefined) : seedNew(seed, lines),
        (refused) => refused !== undefined ? Effect.succeed(refused) : reserveSeeded(lines, amountUsd, expiresInMs)
      ),
    settle: (id, lines, actualUsd) =>
      Effect.sync(() => {
        for (const line of lines) {
          const b = budget(line.id)
          const h = b.holds.get(id)
          if (h !== undefined) {
            b.holds.delete(id)
            b.reserved -= h.amount
          }
          b.spent += spendNano(actualUsd)
        }
      }),
    spent: (line) => Effect.sync(() => (budgets.get(line.id)?.spent ?? 0) / NANO)
  } satisfies BudgetStoreShape
})

/**
 * KEYS: one hash per budget line (fields `spent`, `reserved`, and `seeded` once seeded), with
 * `<key>:r` (reservation id → expiry, a sorted set) and `<key>:a` (reservation id → amount). ARGV:
 * now, amount, expiresAt, reservation id, whether lines must be seeded ("1"), then per line its
 * limit and its counter expiry (ms since epoch, 0 = never). Returns {1} when reserved, {0, index
 * of the full line, room left} when not, {2, index} when that line has not been seeded (a new or
 * flushed Redis): nothing is reserved then.
 */
const ReserveScript = `
local now = tonumber(ARGV[1]); local amount = tonumber(ARGV[2]); local exp = ARGV[3]; local rid = ARGV[4]
if ARGV[5] == '1' then
  for i, k in ipairs(KEYS) do
    if redis.call('HEXISTS', k, 'seeded') == 0 then return {2, i} end
  end
end
for i, k in ipairs(KEYS) do
  local expired = redis.call('ZRANGEBYSCORE', k .. ':r', '-inf', now)
  for _, m in ipairs(expired) do
    local a = tonumber(redis.call('HGET', k .. ':a', m) or '0')
    redis.call('HINCRBY', k, 'reserved', -a)
    redis.call('HDEL', k .. ':a', m)
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', k .. ':r', '-inf', now) end
  local spent = tonumber(redis.call('HGET', k, 'spent') or '0')
  local reserved = tonumber(redis.call('HGET', k, 'reserved') or '0')
  local room = tonumber(ARGV[4 + 2 * i]) - spent - reserved
  if amount > room then return {0, i, room} end
end
for i, k in ipairs(KEYS) do
  redis.call('HINCRBY', k, 'reserved', amount)
  redis.call('ZADD', k .. ':r', exp, rid)
  redis.call('HSET', k .. ':a', rid, amount)
  local keep = tonumber(ARGV[5 + 2 * i])
  if keep > 0 then
    redis.call('PEXPIREAT', k, keep); redis.call('PEXPIREAT', k .. ':r', keep); redis.call('PEXPIREAT', k .. ':a', keep)
  end
end
return {1}
`

/**
 * KEYS: one line; ARGV: what the ledger says it spent (nano-USD), its counter expiry (0 = never).
 * Once per counter: `spent` becomes the larger of the two (settles that landed in a flushed Redis
 * before the seed are in the ledger too, or about to be), then `seeded` is set.
 */
const SeedScript = `
if redis.call('HEXISTS', KEYS[1], 'seeded') == 1 then return 0 end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local seed = tonumber(ARGV[1])
if seed > spent then redis.call('HSET', KEYS[1], 'spent', seed) end
redis.call('HSET', KEYS[1], 'seeded', 1)
local keep = tonumber(ARGV[2])
if keep > 0 then redis.call('PEXPIREAT', KEYS[1], keep) end
return 1
`

/** KEYS: the lines; ARGV: reservation id, real cost. */
const SettleScript = `
local rid = ARGV[1]; local actual = tonumber(ARGV[2])
for _, k in ipairs(KEYS) do
  local a = redis.call('HGET', k .. ':a', rid)
  if a then
    redis.call('HDEL', k .. ':a', rid)
    redis.call('ZREM', k .. ':r', rid)
    redis.call('HINCRBY', k, 'reserved', -tonumber(a))
  end
  redis.call('HINCRBY', k, 'spent', actual)
end
return 1
`

const redisKey = (prefix: string, line: BudgetLine) => `${prefix}${line.id}`

/**
 * On Redis. If Redis cannot be reached a reserve is refused (fail closed: a budget is a promise
 * of "no more than", which an unrecorded request would break); a settle that cannot be written
 * is logged and lost (the request already happened; the ledger still has its cost).
 */
// keep a counter a day past its period (late settles land in it)
const keepUntil = (line: BudgetLine) => String(line.periodEndsAt === undefined ? 0 : line.periodEndsAt + 86_400_000)

export const makeRedis = (redis: Redis.Redis["Service"], prefix = "llmgw:budget:", seed?: BudgetSeed) =>
  Effect.succeed({
    kind: "redis",
    reserve: (lines, amountUsd, expiresInMs) =>
      Effect.gen(function*() {
        if (lines.length === 0) return { ok: true, id: reservationId() } as Reservation
        const now = yield* Clock.currentTimeMillis
        const amount = reserveNano(amountUsd)
        const id = reservationId()
        const args = [String(now), String(amount), String(now + expiresInMs), id, seed === undefined ? "0" : "1"]
        for (const line of lines) args.push(String(limitNano(line.limitUsd)), keepUntil(line))
        const keys = lines.map((l) => redisKey(prefix, l))
        // each round seeds one line the script found unseeded; then every line is
        for (let round = 0; round <= lines.length; round++) {
          const result = yield* redis.send<[number, number?, number?]>("EVAL", ReserveScript, String(lines.length), ...keys, ...args)
          if (result[0] === 1) return { ok: true, id } as Reservation
          const line = lines[(result[1] ?? 1) - 1]
          if (result[0] === 0) return { ok: false, line, remainingUsd: Math.max(0, Number(result[2] ?? 0)) / NANO } as Reservation
          const seeded = yield* Effect.exit(seed!(line))
          if (seeded._tag === "Failure") return yield* unseededRefusal(line, Cause.squash(seeded.cause))
          yield* redis.send("EVAL", SeedScript, "1", redisKey(prefix, line), String(spendNano(seeded.value)), keepUntil(line))
        }
        return yield* unseededRefusal(lines[0], "the lines were not seeded")
      }).pipe(
        Effect.catchTag("RedisError", (e) =>
          Effect.as(
            Effect.logWarning(`budget store (Redis) unavailable, refusing: ${String(e.cause)}`),
            { ok: false, line: lines[0], remainingUsd: 0 } as Reservation
          ))
      ),
    settle: (id, lines, actualUsd) =>
      lines.length === 0 ? Effect.void : redis.send(
        "EVAL",
        SettleScript,
        String(lines.length),
        ...lines.map((l) => redisKey(prefix, l)),
        id,
        String(spendNano(actualUsd))
      ).pipe(
        Effect.asVoid,
        Effect.catchTag("RedisError", (e) => Effect.logWarning(`budget settle lost (Redis unavailable): ${String(e.cause)}`))
      ),
    spent: (line) =>
      redis.send<string | null>("HGET", redisKey(prefix, line), "spent").pipe(
        Effect.map((v) => Number(v ?? 0) / NANO),
        Effect.orDie
      )
  } satisfies BudgetStoreShape)

export class BudgetStore extends Context.Service<BudgetStore, BudgetStoreShape>()("@llm-gateway/storage/BudgetStore") {
  static readonly layerMemory: Layer.Layer<BudgetStore> = Layer.effect(this, makeMemory())
  /** Rows in the GatewayDatabase; it must be Postgres (SQLite has no row locks across processes). */
  static readonly layerPostgres: Layer.Layer<BudgetStore, never, GatewayDatabase> = Layer.effect(this, Effect.map(GatewayDatabase, (db) => makePostgres(db)))
  static readonly layerRedis = (url: Redacted.Redacted<string>, prefix?: string): Layer.Layer<BudgetStore> =>
    Layer.effect(this, Effect.flatMap(makeResilientRedis({ url }), (r) => makeRedis(r.redis, prefix)))
  /**
   * Redis when `redis.url` is configured, else Postgres when `database.url` is, else memory; its
   * counters seeded by `seed` (the server passes the usage ledger's: `UsageLedger.ledgerSeed`).
   * With it a `RateLimiterStore` on the same place (one Redis connection for both): the per-key
   * rpm/tpm counters, shared by every instance when Redis is configured.
   */
  static readonly layerConfigWithLimiter = (
    seed?: BudgetSeed
  ): Layer.Layer<BudgetStore | RateLimiter.RateLimiterStore, never, LLMConfig | GatewayDatabase> =>
    Layer.unwrap(
      Effect.map(LLMConfig, (config) => {
        if (config.redis === undefined) {
          const budgets = config.database?.url !== undefined
            ? Layer.effect(BudgetStore, Effect.map(GatewayDatabase, (db) => makePostgres(db, seed)))
            : Layer.effect(BudgetStore, makeMemory(seed))
          return Layer.merge(budgets, RateLimiter.layerStoreMemory)
        }
        const url = config.redis.url
        return Layer.effectContext(Effect.gen(function*() {
          const { redis } = yield* makeResilientRedis({ url })
          const budgets = yield* makeRedis(redis, undefined, seed)
          const limiter = yield* RateLimiter.makeStoreRedis({ prefix: "llmgw:keylimit:" }).pipe(Effect.provideService(Redis.Redis, redis))
          return Context.make(BudgetStore, budgets).pipe(Context.add(RateLimiter.RateLimiterStore, limiter))
        }))
      })
    )
}
