/**
 * Classifies Alertmanager alerts with the gateway's own `LLMManager` — a typed result through
 * `generateObject`, task type `alert-classification` (routable in config like any task) — and
 * degrades to `RuleClassifier` whenever the model cannot answer: LLM off, every candidate
 * failed, every breaker open, or the answer still off-schema after the one repair. It never
 * fails: every result says its `source`.
 *
 * Results are cached by fingerprint + label set for `cacheTtlMs` (24 h, the seeds' `cache_ttl`):
 * an L1 in this process and the gateway's shared L2 (`CacheL2`, Redis when configured), so
 * every instance pays for an alert once a day. Identical alerts in flight share one model call.
 *
 * ```ts
 * const classifier = yield* AlertClassifier
 * const [result] = yield* classifier.classifyBatch(payload.alerts)
 * result.source // "llm" | "rules" | "cache"
 * ```
 */
import { CacheL2 } from "@llm-gateway/core/cache/CacheL2"
import { attemptsOf, type LLMError } from "@llm-gateway/core/domain/LLMError"
import { LLMManager, type StructuredOutputError } from "@llm-gateway/core/manager/LLMManager"
import { Clock, Context, Deferred, Effect, Layer, Option, Schema } from "effect"
import { type Alert, type Classification, fingerprintOf, identityOf, ModelAnswer, ModelClassification } from "./Alert.ts"
import * as OpsMetrics from "./OpsMetrics.ts"
import { classifyByRules } from "./RuleClassifier.ts"

export const TASK = "alert-classification"
export const DEFAULT_CACHE_TTL_MS = 24 * 60 * 60 * 1000

export interface AlertClassifierOptions {
  /** Ask the model (else rules only). See `OpsConfig.llmEnabled` for how the flag is resolved. */
  readonly llmEnabled: boolean
  /** How long a model's classification is reused (default 24 h). */
  readonly cacheTtlMs?: number | undefined
  /** Model calls in flight per batch (default 4). */
  readonly concurrency?: number | undefined
  /** Entries in this process's cache (default 10,000). */
  readonly maxEntries?: number | undefined
  /** A `provider/model` to ask instead of the task's route. */
  readonly model?: string | undefined
}

export interface AlertClassifierShape {
  readonly llmEnabled: boolean
  readonly classify: (alert: Alert) => Effect.Effect<Classification>
  /** Identical alerts (fingerprint + label set) are classified once; results in input order. */
  readonly classifyBatch: (alerts: ReadonlyArray<Alert>) => Effect.Effect<ReadonlyArray<Classification>>
}

const SYSTEM = [
  "You classify Prometheus Alertmanager alerts for an on-call engineer.",
  "Answer with one JSON object: severity, category, confidence, reasoning, recommendations.",
  "severity: critical (users affected or data at risk now: page someone), warning (degraded or will",
  "become critical: handle in working hours), info (a change or a fact, no action), noise (heartbeat or",
  "inhibition helpers such as Watchdog and InfoInhibitor, or alerts that say nothing actionable).",
  "category: one or two words (cpu, memory, storage, network, database, kubernetes, certificate, ...).",
  "confidence: 0 to 1. reasoning: one sentence. recommendations: up to three short actions."
].join(" ")

const promptOf = (alert: Alert) =>
  JSON.stringify({
    status: alert.status ?? "firing",
    labels: alert.labels,
    annotations: alert.annotations ?? {},
    startsAt: alert.startsAt
  })

/** What the L2 keeps: the model's answer and who gave it. */
const Entry = Schema.Struct({ v: Schema.Literal(1), model: Schema.String, result: ModelClassification, expiresAt: Schema.Finite })
type Entry = typeof Entry.Type
const decodeEntry = Schema.decodeUnknownOption(Entry)
const L2_PREFIX = "ops:alert-classification:"
const L2_TIMEOUT = "100 millis"

const fallbackReason = (e: LLMError | StructuredOutputError): OpsMetrics.FallbackReason => {
  if (e._tag === "StructuredOutputError") return "schema"
  const attempts = attemptsOf(e) ?? []
  return attempts.length > 0 && attempts.every((a) => a.outcome === "skipped:CircuitOpen") ? "breaker_open" : "unavailable"
}

export const make = (options: AlertClassifierOptions) =>
  Effect.gen(function*() {
    const manager = yield* LLMManager
    const l2 = Option.getOrUndefined(yield* Effect.serviceOption(CacheL2))
    const ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS
    const maxEntries = options.maxEntries ?? 10_000
    const concurrency = options.concurrency ?? 4
    const l1 = new Map<string, Entry>()
    const inFlight = new Map<string, Deferred.Deferred<Classification>>()

    const rules = (alert: Alert, reason: OpsMetrics.FallbackReason): Effect.Effect<Classification> => {
      const r = classifyByRules(alert)
      const result: Classification = { ...r, fingerprint: fingerprintOf(alert), source: "rules", model: "rules", tokens: 0, costUsd: 0 }
      return Effect.as(Effect.andThen(OpsMetrics.fellBack(reason), OpsMetrics.classified("rules", r.severity)), result)
    }

    const remember = (id: string, entry: Entry) => {
      l1.delete(id)
      l1.set(id, entry)
      if (l1.size > maxEntries) l1.delete(l1.keys().next().value!)
    }

    // L1, then the shared L2 (bounded: an L2 that is slow or down is a miss, never a delay)
    const cached = (id: string, now: number): Effect.Effect<Entry | undefined> => {
      const local = l1.get(id)
      if (local !== undefined && local.expiresAt > now) return Effect.succeed(local)
      if (local !== undefined) l1.delete(id)
      if (l2 === undefined) return Effect.succeed(undefined)
      return l2.get(L2_PREFIX + id).pipe(
        Effect.timeoutOption(L2_TIMEOUT),
        Effect.map((found) => {
          const entry = Option.isSome(found) ? Option.getOrUndefined(decodeEntry(found.value)) : undefined
          if (entry === undefined || entry.expiresAt <= now) return undefined
          remember(id, entry)
          return entry
        }),
        Effect.catch(() => Effect.succeed(undefined))
      )
    }

    const store = (id: string, entry: Entry, now: number) => {
      remember(id, entry)
      if (l2 === undefined) return Effect.void
      return l2.set(L2_PREFIX + id, entry, entry.expiresAt - now).pipe(Effect.timeoutOption(L2_TIMEOUT), Effect.ignore)
    }

    const ask = (alert: Alert, id: string): Effect.Effect<Classification> =>
      manager.generateObject(
        {
          messages: [{ role: "system", content: SYSTEM }, { role: "user", content: promptOf(alert) }],
          taskType: TASK,
          model: options.model,
          preferences: { temperature: 0, maxTokens: 400 },
          // this classifier caches by alert identity; the response cache would key on annotations too
          cache: false
        },
        ModelAnswer
      ).pipe(
        Effect.flatMap(({ object: answer, response }) =>
          Effect.gen(function*() {
            const object = { ...answer, confidence: Math.min(1, Math.max(0, answer.confidence)) }
            const now = yield* Clock.currentTimeMillis
            const model = `${response.provider}/${response.model}`
            yield* store(id, { v: 1, model, result: object, expiresAt: now + ttlMs }, now)
            yield* OpsMetrics.classified("llm", object.severity)
            return {
              ...object,
              fingerprint: fingerprintOf(alert),
              source: "llm" as const,
              model,
              tokens: response.usage.totalTokens,
              costUsd: response.costUsd
            }
          })
        ),
        Effect.catch((e) => rules(alert, fallbackReason(e)))
      )

    const classifyOne = (alert: Alert): Effect.Effect<Classification> => {
      if (!options.llmEnabled) return rules(alert, "disabled")
      const id = identityOf(alert)
      return Effect.gen(function*() {
        const hit = yield* cached(id, yield* Clock.currentTimeMillis)
        if (hit !== undefined) {
          yield* OpsMetrics.classified("cache", hit.result.severity)
          return { ...hit.result, fingerprint: fingerprintOf(alert), source: "cache" as const, model: hit.model, tokens: 0, costUsd: 0 }
        }
        // identical alerts arriving together (several webhook deliveries) share one model call
        const pending = inFlight.get(id)
        if (pending !== undefined) return yield* Deferred.await(pending)
        const deferred = yield* Deferred.make<Classification>()
        inFlight.set(id, deferred)
        return yield* ask(alert, id).pipe(
          Effect.onExit((exit) => {
            inFlight.delete(id)
            return exit._tag === "Success"
              ? Deferred.succeed(deferred, exit.value)
              : Deferred.interrupt(deferred)
          })
        )
      })
    }

    const classifyBatch = (alerts: ReadonlyArray<Alert>): Effect.Effect<ReadonlyArray<Classification>> => {
      const firstIndex = new Map<string, number>()
      const distinct: Array<Alert> = []
      const slot = alerts.map((alert) => {
        const id = identityOf(alert)
        let i = firstIndex.get(id)
        if (i === undefined) {
          i = distinct.length
          firstIndex.set(id, i)
          distinct.push(alert)
        }
        return i
      })
      return Effect.map(
        Effect.forEach(distinct, classifyOne, { concurrency }),
        (results) => slot.map((i) => results[i])
      )
    }

    return AlertClassifier.of({
      llmEnabled: options.llmEnabled,
      classify: Effect.fn("AlertClassifier.classify")(function*(alert: Alert) {
        return yield* classifyOne(alert)
      }),
      classifyBatch: Effect.fn("AlertClassifier.classifyBatch")(function*(alerts: ReadonlyArray<Alert>) {
        return yield* classifyBatch(alerts)
      })
    })
  })

export class AlertClassifier extends Context.Service<AlertClassifier, AlertClassifierShape>()("@llm-gateway/ops/AlertClassifier") {
  /** Needs `LLMManager`; uses the gateway's `CacheL2` when one is in context. */
  static readonly layer = (options: AlertClassifierOptions): Layer.Layer<AlertClassifier, never, LLMManager> =>
    Layer.effect(this, make(options))
  /** Rules only: no model, no cache. */
  static readonly layerRules: Layer.Layer<AlertClassifier> = Layer.succeed(this, {
    llmEnabled: false,
    classify: (alert) => Effect.succeed({ ...classifyByRules(alert), fingerprint: fingerprintOf(alert), source: "rules", model: "rules", tokens: 0, costUsd: 0 }),
    classifyBatch: (alerts) =>
      Effect.succeed(alerts.map((alert) => ({ ...classifyByRules(alert), fingerprint: fingerprintOf(alert), source: "rules" as const, model: "rules", tokens: 0, costUsd: 0 })))
  })
}
