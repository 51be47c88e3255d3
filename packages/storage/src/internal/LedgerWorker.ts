/**
 * The main thread's side of the ledger worker (`ledgerWorkerThread.ts`: not `ledgerWorker.ts`,
 * which a case-insensitive disk would take for this file): hands a batch to a worker thread that
 * writes it on its own SQLite connection, so the INSERTs (~55,000 instructions a request,
 * milliseconds of blocked event loop for a 1,000-row flush) run off the event loop. Why and when:
 * `UsageLedger.ts`.
 *
 * The thread starts on the first `write`, and again on the next `write` after it crashed or
 * exited: a batch in flight then fails, like any failed write, and its rows stay buffered. It
 * holds the process open only while a batch is in flight, and is closed with the scope.
 *
 * Its cost, measured (Node 24, from source, the process's RSS before the first write and after a
 * 1,000-row batch, 3 runs): +26 MB (25.6–26.8), the first write ~0.2 s including the start; about
 * half of it was Node's TypeScript stripper, started in the thread to load its .ts files, hence
 * the JavaScript bundle below (a bare `node:sqlite` worker: +26 MB from .ts, +13 MB from .mjs).
 * The thread used to load effect and effect/sql for the same SQL: +74–83 MB, ~0.8 s. Hence the bare
 * `node:sqlite` thread (imports: `node:worker_threads`, `node:sqlite`, `ledgerSql.ts`) and the capped
 * heap below (without it: +30–32 MB).
 */
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import { Effect, Schema, type Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { encodeRows, transferables } from "./ledgerColumns.ts"
import type { LedgerRow } from "./ledgerTypes.ts"
import type { LedgerWorkerReply, LedgerWorkerRequest } from "./ledgerWorkerThread.ts"
import type { NodeSqliteOptions } from "./NodeSqliteClient.ts"

/** The batch was not written: SQLite failed (busy, read-only, disk), or the thread died. */
export class LedgerWorkerError extends Schema.TaggedError<LedgerWorkerError>()("LedgerWorkerError", {
  message: Schema.String
}) {}

export interface LedgerWorker {
  /**
   * Writes one batch in one transaction; on failure none of it is written. The ledger sends one at
   * a time (its flush is serialised); were there more, the thread's client would queue them.
   */
  readonly write: (batch: NonEmptyReadonlyArray<LedgerRow>) => Effect.Effect<void, LedgerWorkerError>
  /** The running thread (tests watch or end it); undefined before the first write, after a crash and once closed. */
  readonly thread: () => Worker | undefined
}

// From source (.ts: the gateway and the tests run it so) the entry is the thread's code as plain
// JavaScript, `ledgerWorkerThread.bundle.js` (made from the .ts sources; test/ledgerWorkerBundle.ts):
// a thread that loads .ts starts Node's type stripper in its isolate, +13 MB RSS. Built (`tsc -b`
// rewrites the static imports, not this URL) it is ledgerWorkerThread.js in dist/internal.
const entry = new URL(`./ledgerWorkerThread${import.meta.url.endsWith(".ts") ? ".bundle.js" : ".js"}`, import.meta.url)

/**
 * The thread's V8 heap, capped: it holds one batch (at most 1,800 rows, a few MB cloned) and its
 * statements, nothing more, and V8's defaults would let an isolate's heap grow to the size of the
 * main thread's before collecting. A batch of 1,800 rows with 8 KB bodies fits (ledgerWorker.test).
 */
const resourceLimits = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 }

/** How long the scope's close waits for the thread to close its connection before terminating it. */
const CLOSE_MS = 1000

interface Running {
  readonly worker: Worker
  readonly pending: Map<number, (result: Effect.Effect<void, LedgerWorkerError>) => void>
}

export const make = (options: NodeSqliteOptions): Effect.Effect<LedgerWorker, never, Scope.Scope> =>
  Effect.gen(function*() {
    let current: Running | undefined
    let closed = false
    let nextId = 0
    const failure = (message: string) => Effect.fail(new LedgerWorkerError({ message: `ledger worker: ${message}` }))

    const start = (): Running => {
      const worker = new Worker(entry, { workerData: options, resourceLimits })
      const running: Running = { worker, pending: new Map() }
      // idle, the thread must not keep the process alive (a gateway that exits without closing)
      worker.unref()
      const settle = (id: number, result: Effect.Effect<void, LedgerWorkerError>) => {
        const resume = running.pending.get(id)
        if (resume === undefined) return // interrupted meanwhile
        running.pending.delete(id)
        if (running.pending.size === 0) worker.unref()
        resume(result)
      }
      const died = (message: string) => {
        if (current === running) current = undefined
        for (const id of [...running.pending.keys()]) settle(id, failure(message))
      }
      worker.on("message", (reply: LedgerWorkerReply) => settle(reply.id, reply.error === undefined ? Effect.void : failure(reply.error)))
      // an uncaught error is followed by "exit"; either one ends this thread's batches
      worker.on("error", (e) => died(`crashed: ${e.message}`))
      worker.on("exit", (code) => died(`exited (code ${code})`))
      return running
    }

    const write = (batch: NonEmptyReadonlyArray<LedgerRow>) =>
      Effect.callback<void, LedgerWorkerError>((resume) => {
        if (closed) return resume(failure("closed"))
        let running: Running
        const id = ++nextId
        try {
          running = current ??= start()
          running.pending.set(id, resume)
          running.worker.ref()
          // as columns, the numbers' buffers moved (ledgerColumns.ts: cloning row objects cost ~3 µs a request)
          const columns = encodeRows(batch)
          running.worker.postMessage({ id, columns } satisfies LedgerWorkerRequest, transferables(columns))
        } catch (e) {
          // the thread could not start, or a row could not be cloned
          if (current !== undefined) {
            current.pending.delete(id)
            if (current.pending.size === 0) current.worker.unref()
          }
          return resume(failure(e instanceof Error ? e.message : String(e)))
        }
        // interrupted: forget the reply (a write the thread still commits is no longer ours to report)
        return Effect.sync(() => {
          running.pending.delete(id)
          if (running.pending.size === 0) running.worker.unref()
        })
      })

    // Registered before UsageLedger's last flush (finalizers run in reverse), so it runs after it.
    // The thread is asked to close its connection, and ended if it has not within CLOSE_MS; held
    // (ref) meanwhile, or the process could exit in the middle with the rest of its shutdown undone.
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closed = true
        const running = current
        current = undefined
        if (running === undefined) return
        running.worker.ref()
        const exited = once(running.worker, "exit").catch(() => undefined) // (rejects on an "error" first)
        running.worker.postMessage({ close: true } satisfies LedgerWorkerRequest)
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([exited, new Promise((done) => (timer = setTimeout(done, CLOSE_MS)))])
        clearTimeout(timer)
        await running.worker.terminate()
      })
    )

    return { write, thread: () => current?.worker } satisfies LedgerWorker
  })
