/**
 * The background half of `POST /api/v1/alerts`. The route only validates and `submit`s (a 200
 * within milliseconds: Alertmanager gives up after max(group_interval, 10 s)); here a bounded
 * queue feeds a small worker pool that classifies (unless the mode is `transparent`), enriches,
 * and writes each alert to the outbox; one delivery fiber sends the outbox to the downstream
 * webhook (`alerts.downstream.url`), retrying with backoff, and keeps what the downstream does
 * not accept until it does — across restarts, since the outbox is the gateway's store.
 *
 * A full queue makes `submit` answer false (the route answers 503, which Alertmanager retries).
 */
import { Context, Duration, Effect, Layer, Option, Queue, Redacted, Schedule } from "effect"
import { AlertClassifier } from "./AlertClassifier.ts"
import { idempotencyKeyOf, type WebhookPayload } from "./Alert.ts"
import { AlertOutbox, type OutboxEntry } from "./AlertOutbox.ts"
import { enrichPayload } from "./Enrichment.ts"
import { EnrichmentMode } from "./EnrichmentMode.ts"
import * as OpsMetrics from "./OpsMetrics.ts"

export interface DownstreamConfig {
  readonly url: string
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
}

export interface AlertForwarderOptions {
  /** Where enriched payloads go; without it alerts are only classified (metrics, cache). */
  readonly downstream?: DownstreamConfig | undefined
  /** Webhook payloads waiting for a worker (default 1000). */
  readonly queueSize?: number | undefined
  /** Payloads classified at once (default 4). */
  readonly workers?: number | undefined
  /** Tries per send before the rows wait for the next round (default 3), backoff from `retryBaseMs` (200). */
  readonly sendAttempts?: number | undefined
  readonly retryBaseMs?: number | undefined
  /** How often a downstream that failed is tried again (default 5000 ms). */
  readonly pollMs?: number | undefined
  /** One send's time limit (default 10 s). */
  readonly timeoutMs?: number | undefined
  /** Alerts per send (default 100). */
  readonly batchSize?: number | undefined
}

export interface AlertForwarderShape {
  /** Queues a received payload (`raw` as received, forwarded with its unknown fields); false when full. */
  readonly submit: (raw: Record<string, unknown>, payload: WebhookPayload) => Effect.Effect<boolean>
  /** Payloads received and not yet in the outbox. */
  readonly backlog: Effect.Effect<number>
}

interface Job {
  readonly raw: Record<string, unknown>
  readonly payload: WebhookPayload
}

class SendFailed {
  readonly _tag = "SendFailed"
  readonly message: string
  readonly retryable: boolean
  constructor(message: string, retryable: boolean) {
    this.message = message
    this.retryable = retryable
  }
}

const LEASE_MS = 60_000
const RETENTION_MS = 7 * 24 * 60 * 60 * 1000

const send = (downstream: DownstreamConfig, body: string, timeoutMs: number) =>
  Effect.tryPromise({
    try: async (signal) => {
      const headers: Record<string, string> = { "content-type": "application/json" }
      for (const [k, v] of Object.entries(downstream.headers ?? {})) headers[k] = Redacted.isRedacted(v) ? Redacted.value(v) : v
      const response = await fetch(downstream.url, { method: "POST", headers, body, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) })
      await response.arrayBuffer().catch(() => undefined)
      return response.status
    },
    catch: (e) => new SendFailed(e instanceof Error ? e.message : String(e), true)
  }).pipe(
    Effect.flatMap((status) =>
      status >= 200 && status < 300
        ? Effect.void
        // 408 / 429 / 5xx are worth another try; another 4xx will never be accepted
        : Effect.fail(new SendFailed(`HTTP ${status}`, status === 408 || status === 429 || status >= 500))
    )
  )

export const make = (options: AlertForwarderOptions) =>
  Effect.gen(function*() {
    const classifier = yield* AlertClassifier
    const mode = yield* EnrichmentMode
    const outbox = options.downstream === undefined ? undefined : Option.getOrUndefined(yield* Effect.serviceOption(AlertOutbox))
    const queue = yield* Queue.dropping<Job>(options.queueSize ?? 1000)
    const wake = yield* Queue.dropping<void>(1)
    const pollMs = options.pollMs ?? 5000
    const batchSize = options.batchSize ?? 100
    const timeoutMs = options.timeoutMs ?? 10_000
    const retry = Schedule.exponential(Duration.millis(options.retryBaseMs ?? 200))
    const retries = Math.max((options.sendAttempts ?? 3) - 1, 0)
    let inProgress = 0

    const updateDepth = outbox === undefined
      ? Effect.void
      : outbox.depth.pipe(Effect.flatMap(OpsMetrics.setOutboxDepth), Effect.ignore)

    const process = (job: Job) =>
      Effect.gen(function*() {
        const current = yield* mode.get
        const classifications = current === "transparent" ? undefined : yield* classifier.classifyBatch(job.payload.alerts)
        if (outbox === undefined) return
        const enriched = enrichPayload(job.raw, classifications, current)
        const { alerts, ...envelope } = enriched
        const envelopeJson = JSON.stringify(envelope)
        const groupKey = job.payload.groupKey ?? `${job.payload.receiver}:${JSON.stringify(job.payload.groupLabels ?? {})}`
        const entries: Array<OutboxEntry> = (alerts as ReadonlyArray<unknown>).map((alert, i) => ({
          id: idempotencyKeyOf(job.payload.alerts[i], job.payload.status),
          groupKey,
          envelope: envelopeJson,
          alert: JSON.stringify(alert)
        }))
        yield* outbox.add(entries)
        yield* Queue.offer(wake, undefined)
        yield* updateDepth
      }).pipe(
        Effect.catchCause((cause) => Effect.logWarning("alert payload not forwarded", cause)),
        Effect.ensuring(Effect.sync(() => void inProgress--))
      )

    const worker = Effect.forever(Effect.flatMap(Queue.take(queue), process))
    yield* Effect.forkScoped(Effect.all(Array.from({ length: options.workers ?? 4 }, () => worker), { concurrency: "unbounded", discard: true }))

    if (outbox !== undefined && options.downstream !== undefined) {
      const downstream = options.downstream
      /** One round: claim pending rows, send them group by group; true when the downstream took them all. */
      const round = Effect.gen(function*() {
        const rows = yield* outbox.claim(batchSize, LEASE_MS)
        if (rows.length === 0) {
          // another instance on the store may have sent what this one counted: refresh the gauge
          yield* updateDepth
          return "idle" as const
        }
        const groups = new Map<string, Array<OutboxEntry>>()
        for (const r of rows) groups.set(r.groupKey, [...(groups.get(r.groupKey) ?? []), r])
        let failed = false
        for (const group of groups.values()) {
          const ids = group.map((r) => r.id)
          if (failed) {
            yield* outbox.release(ids)
            continue
          }
          const alerts = group.map((r) => JSON.parse(r.alert) as { status?: string })
          const body = JSON.stringify({
            ...JSON.parse(group[0].envelope),
            status: alerts.some((a) => a.status !== "resolved") ? "firing" : "resolved",
            alerts
          })
          // A send in flight is never cut (an aborted request may still have arrived): shutdown
          // waits for it (bounded by timeoutMs) and its outcome is recorded; between attempts it
          // may stop, and the rows go back at once rather than when the lease runs out.
          const attempt = Effect.uninterruptible(Effect.andThen(send(downstream, body, timeoutMs), outbox.delivered(ids)))
          const outcome = yield* attempt.pipe(
            Effect.retry({ schedule: retry, times: retries, while: (e) => e instanceof SendFailed && e.retryable }),
            Effect.result,
            Effect.onInterrupt(() => Effect.ignore(outbox.release(ids)))
          )
          if (outcome._tag === "Success") {
            // recorded by the attempt
          } else if (!(outcome.failure instanceof SendFailed)) {
            return yield* Effect.fail(outcome.failure)
          } else if (!outcome.failure.retryable) {
            yield* Effect.logWarning(`downstream ${downstream.url} rejected ${ids.length} alert(s): ${outcome.failure.message}; dropped`)
            yield* outbox.delivered(ids)
          } else {
            yield* Effect.logWarning(`downstream ${downstream.url} unavailable (${outcome.failure.message}); ${ids.length} alert(s) kept in the outbox`)
            yield* outbox.release(ids)
            failed = true
          }
        }
        yield* updateDepth
        return failed ? "failed" as const : "sent" as const
      }).pipe(Effect.catchCause((cause) => Effect.as(Effect.logWarning("alert outbox unavailable", cause), "failed" as const)))

      const pause = Effect.asVoid(Queue.take(wake).pipe(Effect.timeoutOption(Duration.millis(pollMs))))
      // after a failure wait the full poll interval (new alerts do not hammer a down downstream)
      const failedPause = Effect.andThen(Effect.sleep(Duration.millis(pollMs)), Effect.asVoid(Queue.clear(wake)))
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(round, (r) => r === "sent" ? Effect.void : r === "idle" ? pause : failedPause)))
      yield* Effect.forkScoped(Effect.repeat(
        Effect.ignore(outbox.prune(RETENTION_MS)),
        Schedule.spaced("1 hour")
      ))
      yield* updateDepth
    }

    return AlertForwarder.of({
      submit: (raw, payload) =>
        Effect.sync(() => {
          const ok = Queue.offerUnsafe(queue, { raw, payload })
          if (ok) inProgress++
          return ok
        }),
      backlog: Effect.sync(() => inProgress)
    })
  })

export class AlertForwarder extends Context.Service<AlertForwarder, AlertForwarderShape>()("@llm-gateway/ops/AlertForwarder") {
  /** Forwards only when `downstream` is set and an `AlertOutbox` is in context. */
  static readonly layer = (options: AlertForwarderOptions): Layer.Layer<AlertForwarder, never, AlertClassifier | EnrichmentMode> =>
    Layer.effect(this, make(options))
}
