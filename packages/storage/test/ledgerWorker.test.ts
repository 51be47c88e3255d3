/**
 * The usage ledger's SQLite writes in a worker thread (`internal/LedgerWorker.ts`): rows written
 * there are read back on the main thread, a failed write (the file locked by another connection,
 * the thread ended) keeps the rows for the next flush, and closing the scope writes what is left
 * and ends the thread; the thread (bare node:sqlite) and the inline path (effect/sql) write the
 * same rows and rollups from the one SQL of `internal/ledgerSql.ts`. Flushes are driven by `flush`, under the TestClock (the 60 s timer never
 * fires); the thread and SQLite's busy wait run on real time.
 */
import { once } from "node:events"
import * as Fs from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { afterAll } from "vitest"
import { GatewayDatabase, make as makeGatewayDatabase } from "../src/GatewayDatabase.ts"
import * as LedgerWorker from "../src/internal/LedgerWorker.ts"
import { LedgerFeature, type LedgerRow, UsageLedger, type UsageLedgerOptions } from "../src/UsageLedger.ts"
import { ledgerRow } from "./fixtures/ledgerRow.ts"
import { bundle, bundlePath } from "./ledgerWorkerBundle.ts"
import { tempDir } from "./support.ts"

const tmp = tempDir("ledger-worker")
afterAll(tmp.cleanup)
let n = 0
const newPath = () => join(tmp.dir, `gateway-${++n}.db`)

const DAY = 86_400_000
const row = (i: number, over: Partial<LedgerRow> = {}): LedgerRow =>
  ledgerRow({ at: Date.UTC(2025, 0, 10) + (i % 3) * DAY + i, keyId: i % 2 === 0 ? "k1" : null, model: `m${i % 2}`, ...over })
const rows = (count: number, from = 0) => Array.from({ length: count }, (_, i) => row(from + i))
const range = { from: Date.UTC(2025, 0, 1), to: Date.UTC(2025, 1, 1) }

/** What is committed in the file, read by a connection of its own. */
const stored = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const raw = Number((db.prepare("SELECT count(*) AS n FROM gateway_usage").get() as { n: number }).n)
    const daily = Number((db.prepare("SELECT coalesce(sum(requests), 0) AS n FROM gateway_usage_daily").get() as { n: number }).n)
    return { raw, daily }
  } finally {
    db.close()
  }
}

/** Every raw row (in insertion order) and rollup in the file, each value with its JS type, and SQLite's storage class of `at` and `cost_usd`. */
const dump = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  const typed = (rows: Array<Record<string, unknown>>) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [typeof v, v]])))
  try {
    return {
      raw: typed(db.prepare("SELECT *, typeof(at) AS t_at, typeof(cost_usd) AS t_cost FROM gateway_usage ORDER BY rowid").all()),
      daily: typed(db.prepare("SELECT * FROM gateway_usage_daily ORDER BY day, scope, key_id, team, task, model, provider").all())
    }
  } finally {
    db.close()
  }
}

/** Another connection holding the write lock (`BEGIN IMMEDIATE`) until `release`. */
const lockFile = (path: string) => {
  const db = new DatabaseSync(path)
  db.exec("BEGIN IMMEDIATE")
  return { release: () => (db.exec("ROLLBACK"), db.close()) }
}

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make((o) => {
    lines.push(Array.isArray(o.message) ? o.message.join(" ") : String(o.message))
  })
  return { lines, layer: Logger.layer([logger]) }
}

const ledgerLayer = (path: string, options: UsageLedgerOptions = {}, busyTimeoutMs?: number) =>
  UsageLedger.layer({ flushMs: 60_000, ...options }).pipe(Layer.provide(GatewayDatabase.layer({ path, busyTimeoutMs })))

describe("UsageLedger on SQLite, written by a worker thread", () => {
  for (const writer of ["worker", "inline"] as const) {
    it.effect(`${writer}: 150 rows over three days written in one flush, read back by query and from the file`, () => {
      const path = newPath()
      return Effect.gen(function*() {
        const ledger = yield* UsageLedger
        for (const r of rows(150)) ledger.record(r)
        yield* ledger.flush
        expect(ledger.stats()).toEqual({ pending: 0, dropped: 0 })
        expect(stored(path)).toEqual({ raw: 150, daily: 150 })
        const report = yield* ledger.query({ ...range, groupBy: "model" })
        expect(report.totals).toEqual({ requests: 150, promptTokens: 1500, completionTokens: 750, costUsd: expect.closeTo(1.5, 9) })
        expect(report.rows.map((r) => [r.model, r.requests])).toEqual([["m0", 75], ["m1", 75]])
        expect((yield* ledger.query({ keyId: "k1", ...range })).totals.requests).toBe(75)
      }).pipe(Effect.provide(ledgerLayer(path, { writer })))
    })
  }

  it.effect("the worker (node:sqlite) and inline (effect/sql) paths store identical rows and rollups for the same batches", () => {
    // every column's kinds: nulls and values, a cache hit, a body, two days, keys and teams, a second
    // batch upserting onto the first's rollups; 100 rows: chunks of 64, 32 and 4
    const batch = (from: number) =>
      Array.from({ length: 100 }, (_, i) =>
        row(from + i, {
          team: i % 5 === 0 ? "t1" : null,
          task: i % 4 === 0 ? "code" : "general",
          requestedModel: i % 3 === 0 ? "auto" : null,
          cacheHit: i % 7 === 0,
          body: i % 6 === 0 ? JSON.stringify({ request: `q${i}`, response: "ünïcode ✓" }) : undefined,
          costUsd: 0.001 * (i + 1),
          latencyMs: 1.5 * i,
          cachedTokens: i,
          reasoningTokens: i % 2
        })
      )
    const write = (writer: "worker" | "inline") => {
      const path = newPath()
      return Effect.gen(function*() {
        const ledger = yield* UsageLedger
        for (const r of batch(0)) ledger.record(r)
        yield* ledger.flush
        for (const r of batch(50)) ledger.record(r)
        yield* ledger.flush
        return dump(path)
      }).pipe(Effect.provide(ledgerLayer(path, { writer })))
    }
    return Effect.gen(function*() {
      const worker = yield* write("worker")
      const inline = yield* write("inline")
      expect(worker.raw).toHaveLength(200)
      expect(worker.daily.length).toBeGreaterThan(10)
      expect(worker.raw[0]!["cache_hit"]).toEqual(["number", 1])
      expect(worker.raw[1]!["body"]).toEqual(["object", null])
      expect(worker).toEqual(inline)
    })
  })

  it.effect("a write that fails (the file locked past the busy timeout) keeps its rows buffered, logs once, and is written once the lock is gone", () => {
    const path = newPath()
    const logs = captureLogs()
    return Effect.gen(function*() {
      const ledger = yield* UsageLedger
      for (const r of rows(10)) ledger.record(r)
      yield* ledger.flush // opens and migrates the store, starts the thread
      const lock = lockFile(path)
      try {
        for (const r of rows(40, 10)) ledger.record(r)
        yield* ledger.flush
        expect(ledger.stats().pending).toBe(40)
        yield* ledger.flush
        expect(ledger.stats().pending).toBe(40)
        // buffered rows count in reports meanwhile (read on the main thread's connection: WAL)
        expect((yield* ledger.query(range)).totals.requests).toBe(50)
      } finally {
        lock.release()
      }
      yield* ledger.flush
      expect(ledger.stats()).toEqual({ pending: 0, dropped: 0 })
      expect(stored(path)).toEqual({ raw: 50, daily: 50 })
      expect(logs.lines.filter((l) => l.includes("store unavailable"))).toHaveLength(1)
      expect(logs.lines.filter((l) => l.includes("store back"))).toHaveLength(1)
    }).pipe(Effect.provide(ledgerLayer(path, {}, 50)), Effect.provide(logs.layer))
  })

  it.effect("closing the scope writes what is buffered through the thread and ends it (its connection closed too)", () => {
    const path = newPath()
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const ledger = Context.get(yield* Layer.buildWithScope(ledgerLayer(path), scope), UsageLedger)
      for (const r of rows(5)) ledger.record(r)
      yield* ledger.flush
      for (const r of rows(30, 5)) ledger.record(r)
      expect(ledger.stats().pending).toBe(30)
      yield* Scope.close(scope, Exit.void)
      expect(stored(path)).toEqual({ raw: 35, daily: 35 })
      // WAL can be left only once no other connection is open: neither the main thread's nor the worker's
      const db = new DatabaseSync(path)
      try {
        expect(db.prepare("PRAGMA journal_mode = DELETE").get()).toEqual({ journal_mode: "delete" })
      } finally {
        db.close()
      }
    })
  })
})

describe("LedgerWorker", () => {
  /** A migrated ledger file and a worker on it, in the test's scope. */
  const setup = (busyTimeoutMs: number) =>
    Effect.gen(function*() {
      const path = newPath()
      const db = yield* makeGatewayDatabase({ path, busyTimeoutMs })
      yield* Effect.orDie(db.open(LedgerFeature))
      const worker = yield* LedgerWorker.make(db.sqlite!)
      return { path, worker }
    })

  it.effect("a thread that died fails the write in flight (none of it stored) and is replaced on the next write; closing ends it", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { path, worker } = yield* Scope.provide(setup(200), scope)
      expect(worker.thread()).toBeUndefined() // started by the first write, not before
      yield* worker.write([row(0)])
      const first = worker.thread()!
      expect(first.threadId).toBeGreaterThan(0)

      // the batch waits on the lock in the thread when the thread is ended (posted before: started at once)
      const lock = lockFile(path)
      const inFlight = yield* Effect.forkChild(Effect.exit(worker.write([row(1), row(2)])), { startImmediately: true })
      yield* Effect.promise(() => first.terminate())
      lock.release()
      expect(Exit.isFailure(yield* Fiber.join(inFlight))).toBe(true)
      expect(worker.thread()).toBeUndefined()

      yield* worker.write([row(3), row(4), row(5)])
      const second = worker.thread()!
      expect(second.threadId).not.toBe(first.threadId)
      expect(stored(path)).toEqual({ raw: 4, daily: 4 })

      const exited = once(second, "exit")
      yield* Scope.close(scope, Exit.void)
      yield* Effect.promise(() => exited)
      expect(worker.thread()).toBeUndefined()
      expect(second.threadId).toBe(-1)
    }))

  it.effect("the largest batch (1,800 rows with 8 KB bodies) is written within the thread's capped heap", () =>
    Effect.scoped(Effect.gen(function*() {
      const { path, worker } = yield* setup(1000)
      const body = "x".repeat(8192)
      for (let i = 0; i < 3; i++) {
        yield* worker.write(Array.from({ length: 1800 }, (_, j) => row(i * 1800 + j, { body })) as unknown as NonEmptyReadonlyArray<LedgerRow>)
      }
      expect(stored(path)).toEqual({ raw: 5400, daily: 5400 })
    })))

  it.effect("a SQLite error in the thread is the write's failure, with SQLite's reason", () =>
    Effect.scoped(Effect.gen(function*() {
      const { path, worker } = yield* setup(20)
      const lock = lockFile(path)
      const error = yield* Effect.flip(worker.write([row(0)]))
      lock.release()
      expect(error._tag).toBe("LedgerWorkerError")
      expect(error.message).toMatch(/ledger worker: .*locked/)
      yield* worker.write([row(1)])
      expect(stored(path).raw).toBe(1)
    })))

  it("runs, from source, the JavaScript bundle of its sources as they are now (remake it: test/ledgerWorkerBundle.ts --write)", () => {
    expect(Fs.readFileSync(bundlePath, "utf8")).toBe(bundle())
  })
})
