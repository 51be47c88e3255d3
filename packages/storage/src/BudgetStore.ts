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
 */
import { LLMConfig } from "@llm-gateway/core/config/LLMConfig"
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Redis from "effect/persistence/Redis"
import { limitNano, NANO, reservationId, reserveNano, spendNano } from "./internal/budgetUnits.ts"
import type { BudgetLine, BudgetStoreShape, Reservation } from "./internal/budgetTypes.ts"
import { makePostgres } from "./internal/pgBudgets.ts"
import { makeResilientRedis } from "./internal/redisClient.ts"
import { GatewayDatabase } from "./GatewayDatabase.ts"

export type { BudgetLine, BudgetStoreShape, Reservation } from "./internal/budgetTypes.ts"

interface MemoryBudget {
  spent: number
  reserved: number
  readonly holds: Map<string, { readonly amount: number; readonly expiresAt: number }>
}

/** This instance's memory: synchronous, hence atomic. */
export const makeMemory = Effect.sync(() => {
  const budgets = new Map<string, MemoryBudget>()
  const budget = (id: string) => {
    let b = budgets.get(id)
    if (b === undefined) {
      b = { spent: 0, reserved: 0, holds: new Map() }
      budgets.set(id, b)
    }
    return b
  }
  const expire = (b: MemoryBudget, now: number) => {
    for (const [id, h] of b.holds) {
      if (h.expiresAt > now) continue
      b.holds.delete(id)
      b.reserved -= h.amount
    }
  }
  return {
    kind: "memory",
    reserve: (lines, amountUsd, expiresInMs) =>
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
      }),
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
 * KEYS: one hash per budget line (fields `spent`, `reserved`), with `<key>:r` (reservation id →
 * expiry, a sorted set) and `<key>:a` (reservation id → amount). ARGV: now, amount, expiresAt,
 * reservation id, then per line its limit and its counter expiry (ms since epoch, 0 = never).
 * Returns {1} when reserved, {0, index of the full line, room left} when not.
 */
const ReserveScript = `
local now = tonumber(ARGV[1]); local amount = tonumber(ARGV[2]); local exp = ARGV[3]; local rid = ARGV[4]
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
  local room = tonumber(ARGV[3 + 2 * i]) - spent - reserved
  if amount > room then return {0, i, room} end
end
for i, k in ipairs(KEYS) do
  redis.call('HINCRBY', k, 'reserved', amount)
  redis.call('ZADD', k .. ':r', exp, rid)
  redis.call('HSET', k .. ':a', rid, amount)
  local keep = tonumber(ARGV[4 + 2 * i])
  if keep > 0 then
    redis.call('PEXPIREAT', k, keep); redis.call('PEXPIREAT', k .. ':r', keep); redis.call('PEXPIREAT', k .. ':a', keep)
  end
end
return {1}
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
export const makeRedis = (redis: Redis.Redis["Service"], prefix = "llmgw:budget:") =>
  Effect.succeed({
    kind: "redis",
    reserve: (lines, amountUsd, expiresInMs) =>
      Effect.gen(function*() {
        if (lines.length === 0) return { ok: true, id: reservationId() } as Reservation
        const now = yield* Clock.currentTimeMillis
        const amount = reserveNano(amountUsd)
        const id = reservationId()
        const args = [String(now), String(amount), String(now + expiresInMs), id]
        for (const line of lines) {
          args.push(String(limitNano(line.limitUsd)))
          // keep the counter a day past its period (late settles land in it)
          args.push(String(line.periodEndsAt === undefined ? 0 : line.periodEndsAt + 86_400_000))
        }
        const result = yield* redis.send<[number, number?, number?]>(
          "EVAL",
          ReserveScript,
          String(lines.length),
          ...lines.map((l) => redisKey(prefix, l)),
          ...args
        )
        if (result[0] === 1) return { ok: true, id } as Reservation
        const line = lines[(result[1] ?? 1) - 1]
        return { ok: false, line, remainingUsd: Math.max(0, Number(result[2] ?? 0)) / NANO } as Reservation
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
  static readonly layerMemory: Layer.Layer<BudgetStore> = Layer.effect(this, makeMemory)
  /** Rows in the GatewayDatabase; it must be Postgres (SQLite has no row locks across processes). */
  static readonly layerPostgres: Layer.Layer<BudgetStore, never, GatewayDatabase> = Layer.effect(this, Effect.map(GatewayDatabase, makePostgres))
  static readonly layerRedis = (url: Redacted.Redacted<string>, prefix?: string): Layer.Layer<BudgetStore> =>
    Layer.effect(this, Effect.flatMap(makeResilientRedis({ url }), (r) => makeRedis(r.redis, prefix)))
  /** Redis when `redis.url` is configured, else Postgres when `database.url` is, else memory. */
  static readonly layerConfig: Layer.Layer<BudgetStore, never, LLMConfig | GatewayDatabase> = Layer.unwrap(
    Effect.map(LLMConfig, (config) =>
      config.redis !== undefined
        ? BudgetStore.layerRedis(config.redis.url)
        : config.database?.url !== undefined
        ? BudgetStore.layerPostgres
        : BudgetStore.layerMemory)
  )

  /**
   * This store plus a `RateLimiterStore` on the same place (one Redis connection for both): the
   * per-key rpm/tpm counters, shared by every instance when Redis is configured.
   */
  static readonly layerConfigWithLimiter: Layer.Layer<BudgetStore | RateLimiter.RateLimiterStore, never, LLMConfig | GatewayDatabase> = Layer.unwrap(
    Effect.map(LLMConfig, (config) => {
      if (config.redis === undefined) {
        return Layer.merge(config.database?.url !== undefined ? BudgetStore.layerPostgres : BudgetStore.layerMemory, RateLimiter.layerStoreMemory)
      }
      const url = config.redis.url
      return Layer.effectContext(Effect.gen(function*() {
        const { redis } = yield* makeResilientRedis({ url })
        const budgets = yield* makeRedis(redis)
        const limiter = yield* RateLimiter.makeStoreRedis({ prefix: "llmgw:keylimit:" }).pipe(Effect.provideService(Redis.Redis, redis))
        return Context.make(BudgetStore, budgets).pipe(Context.add(RateLimiter.RateLimiterStore, limiter))
      }))
    })
  )
}
