/**
 * Keys, budgets and the ledger on the request path (notes/operations.md "Budgets"), as a wrapper around the manager
 * the routes call: the routes stay as they are, and a request with a static config key and no
 * budgets touches no database (its ledger row is only pushed onto the ledger's buffer).
 *
 * For a virtual key, before any upstream call: allowed models and task types, the key's rpm/tpm
 * on effect's RateLimiter (shared through Redis when configured, like the per-model limits),
 * then one atomic reservation of the request's worst-case cost against the key's and its team's
 * budgets. The worst case is the prompt estimate × the highest input price among the models the
 * request may reach + `maxTokens` × the highest output price; when the request sets no
 * `maxTokens` it gets the one reserved for, so the real cost cannot exceed the reservation. The
 * reservation settles to the real cost when the call ends.
 *
 * Refusals are `ApiError`s failing through the manager's error channel: the routes' `guard`
 * answers any `Failure`, so they reach the client as 403/429 in the usual envelope.
 */
import type { ModelEntry } from "@llm-gateway/core/config/ConfigSchema"
import { estimatePromptTokens, estimateTokens, DEFAULT_OUTPUT_TOKENS } from "@llm-gateway/core/accounting/Pricing"
import type { LLMRequest, LLMResponse, StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import type { LLMManagerShape } from "@llm-gateway/core/manager/LLMManager"
import type { BudgetLine, BudgetStoreShape } from "@llm-gateway/storage/BudgetStore"
import type { KeyRecord, TeamRecord } from "@llm-gateway/storage/KeyStore"
import type { LedgerRow, UsageLedgerShape } from "@llm-gateway/storage/UsageLedger"
import { Effect, Exit, Stream } from "effect"
import type { RateLimiter } from "effect/persistence/RateLimiter"
import { ApiError, fromLLMError } from "../HttpError.ts"
import type { BodyRecorder } from "./ledgerBodies.ts"

/** Who is calling: resolved by the authenticator, looked up by scope on the request path. */
export interface Caller {
  readonly scope: string
  readonly admin: boolean
  readonly key?: KeyRecord | undefined
  readonly team?: TeamRecord | undefined
}

export interface GovernanceDeps {
  readonly ledger: UsageLedgerShape
  readonly budgets: BudgetStoreShape
  readonly limiter: RateLimiter
  /** The caller of a virtual-key scope (cached by the authenticator); undefined for the rest. */
  readonly callerOf: (scope: string) => Caller | undefined
  /** Every configured chat model with its prices, by `provider/model`. */
  readonly models: ReadonlyMap<string, ModelEntry>
  /** Longest a request may take (routing.timeoutMs): reservations outlive it. */
  readonly timeoutMs: number
  /** With `ledger.storeBodies: true`: each row keeps the request and answer, redacted and capped. */
  readonly bodies?: BodyRecorder | undefined
}

const DAY = 86_400_000

/** The budget line of a key or team for the period `at` falls in. */
export const budgetLine = (kind: "key" | "team", id: string, limitUsd: number, period: KeyRecord["budgetPeriod"], at: number): BudgetLine => {
  if (period === "total") return { id: `${kind}:${id}:total`, limitUsd }
  const d = new Date(at)
  if (period === "day") {
    const start = Math.floor(at / DAY) * DAY
    return { id: `${kind}:${id}:day:${d.toISOString().slice(0, 10)}`, limitUsd, periodEndsAt: start + DAY }
  }
  return { id: `${kind}:${id}:month:${d.toISOString().slice(0, 7)}`, limitUsd, periodEndsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) }
}

/** `openai/*`, `*`, `anthropic/claude-3-*`: `*` matches any run of characters. */
export const modelAllowed = (patterns: ReadonlyArray<string>, ref: string): boolean =>
  patterns.some((p) => p === ref || new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(ref))

const forbidden = (code: string, message: string) => new ApiError({ status: 403, type: "PermissionDenied", code, message, shouldRetry: false })

export const budgetExceeded = (who: string, remainingUsd: number) =>
  new ApiError({
    status: 429,
    type: "RateLimitExceeded",
    code: "budget_exceeded",
    message: `budget exceeded for ${who}: ${remainingUsd.toFixed(6)} USD remaining in this period`,
    shouldRetry: false,
    headers: { "x-llm-budget-remaining-usd": remainingUsd.toFixed(6) }
  })

const statusOf = (e: unknown): number => (e instanceof ApiError ? e.status : fromLLMError(e as LLMError).status)

/** Admission as the caller's key allows it; returns the request to run and how to settle. */
interface Admitted {
  readonly req: LLMRequest
  readonly settle: (costUsd: number | undefined) => Effect.Effect<void>
}

export const makeGovernedManager = (manager: LLMManagerShape, deps: GovernanceDeps): LLMManagerShape => {
  const allModels = [...deps.models.entries()].filter(([, m]) => m.embedding !== true)

  const admit = (caller: Caller | undefined, req: LLMRequest): Effect.Effect<Admitted, ApiError> => {
    const key = caller?.key
    if (key === undefined) return Effect.succeed({ req, settle: () => Effect.void })
    return Effect.gen(function*() {
      // the models this request may reach: the one it names, else every configured chat model
      const named = req.model !== undefined && req.model !== "auto" ? allModels.filter(([ref, m]) => ref === req.model || m.id === req.model || m.alias === req.model) : []
      const reachable = named.length > 0 ? named : allModels
      if (key.models !== null && key.models.length > 0) {
        const allowed = reachable.filter(([ref]) => modelAllowed(key.models!, ref))
        if (allowed.length === 0 || (named.length > 0 && allowed.length < named.length)) {
          return yield* Effect.fail(forbidden("model_not_allowed", `key ${key.name} may not use model ${req.model ?? "auto"}`))
        }
      }
      if (key.tasks !== null && key.tasks.length > 0 && !key.tasks.includes(req.taskType ?? "general")) {
        return yield* Effect.fail(forbidden("task_not_allowed", `key ${key.name} may not run task ${req.taskType ?? "general"}`))
      }
      const promptTokens = Math.ceil((req.messages !== undefined ? estimatePromptTokens(req.messages as never) : estimateTokens(req.prompt ?? "")) * 1.1) + 16
      const maxTokens = req.preferences?.maxTokens ?? Math.max(...reachable.map(([, m]) => m.maxOutputTokens ?? DEFAULT_OUTPUT_TOKENS), DEFAULT_OUTPUT_TOKENS)
      const limited = (which: "rpm" | "tpm", limit: number | null, tokens: number) =>
        limit === null ? Effect.void : deps.limiter.consume({
          algorithm: "fixed-window",
          onExceeded: "fail",
          window: "1 minute",
          limit,
          key: `vkey:${key.id}:${which}`,
          tokens
        }).pipe(
          Effect.asVoid,
          Effect.catch((e) =>
            e.reason._tag === "RateLimitExceeded"
              ? Effect.fail(new ApiError({
                status: 429,
                type: "RateLimitExceeded",
                code: "rate_limit_exceeded",
                message: `key ${key.name}: ${which} limit ${limit} reached`,
                retryAfterSeconds: Math.max(1, Math.ceil(Number(e.reason.retryAfter) / 1000))
              }))
              : Effect.void // a store outage never refuses a request over a per-key rate limit
          )
        )
      yield* limited("rpm", key.rpm, 1)
      yield* limited("tpm", key.tpm, promptTokens + maxTokens)

      const now = Date.now()
      const lines: Array<BudgetLine> = []
      if (key.budgetUsd !== null) lines.push(budgetLine("key", key.id, key.budgetUsd, key.budgetPeriod, now))
      const team = caller?.team
      if (team !== undefined && team.budgetUsd !== null) lines.push(budgetLine("team", team.id, team.budgetUsd, team.budgetPeriod, now))
      const capped: LLMRequest = req.preferences?.maxTokens === undefined
        ? { ...req, preferences: { ...req.preferences, maxTokens } }
        : req
      if (lines.length === 0) return { req: capped, settle: () => Effect.void }
      let worst = 0
      for (const [, m] of reachable) {
        worst = Math.max(worst, (promptTokens * (m.inputCostPer1M ?? 0) + maxTokens * (m.outputCostPer1M ?? 0)) / 1_000_000)
      }
      const reservation = yield* deps.budgets.reserve(lines, worst, deps.timeoutMs + 60_000)
      if (!reservation.ok) {
        const who = reservation.line.id.startsWith("team:") ? `team ${team?.id}` : `key ${key.name}`
        return yield* Effect.fail(budgetExceeded(who, reservation.remainingUsd))
      }
      return {
        req: capped,
        // an unknown real cost (a stream cut off) settles at the reserved worst case
        settle: (cost) => deps.budgets.settle(reservation.id, lines, cost ?? worst)
      }
    })
  }

  const row = (caller: Caller | undefined, scope: string, req: LLMRequest, startedAt: number, r: Partial<LLMResponse> | undefined, status: number): LedgerRow => {
    const tried = r?.attempts?.filter((a) => !a.outcome.startsWith("skipped:")).length ?? 0
    return {
      at: Date.now(),
      keyId: caller?.key?.id ?? null,
      team: caller?.key?.team ?? null,
      scope,
      task: req.taskType ?? "general",
      requestedModel: req.model ?? null,
      model: r?.model ?? "",
      provider: r?.provider ?? "",
      attempts: tried,
      status,
      promptTokens: r?.usage?.promptTokens ?? 0,
      completionTokens: r?.usage?.completionTokens ?? 0,
      cachedTokens: r?.usage?.cachedPromptTokens ?? 0,
      reasoningTokens: r?.usage?.reasoningTokens ?? 0,
      costUsd: r?.costUsd ?? 0,
      latencyMs: performance.now() - startedAt,
      cacheHit: r?.cached ?? false,
      body: deps.bodies?.body(req, r?.content)
    }
  }

  const governed = <A extends LLMResponse, E>(scope: string, req: LLMRequest, run: (req: LLMRequest) => Effect.Effect<A, E>) => {
    const caller = deps.callerOf(scope)
    const startedAt = performance.now()
    return Effect.flatMap(admit(caller, req), (a) =>
      run(a.req).pipe(
        Effect.onExit((exit) => {
          const r = Exit.isSuccess(exit) ? exit.value : undefined
          deps.ledger.record(row(caller, scope, req, startedAt, r, r !== undefined ? 200 : Exit.isFailure(exit) ? statusOfExit(exit) : 500))
          return a.settle(r !== undefined ? r.costUsd : Exit.hasInterrupts(exit) ? undefined : 0)
        })
      )) as Effect.Effect<A, E>
  }

  const statusOfExit = (exit: Exit.Exit<unknown, unknown>): number => {
    if (Exit.isSuccess(exit)) return 200
    const e = exit.cause.reasons.find((r) => r._tag === "Fail")
    return e === undefined ? 499 : statusOf((e as { error: unknown }).error)
  }

  return {
    ...manager,
    generate: (req, ctx) => governed(ctx?.scope ?? "default", req, (r) => manager.generate(r, ctx)),
    chat: (id, message, options) => {
      const scope = options?.scope ?? "default"
      const req: LLMRequest = { model: options?.model, taskType: options?.taskType, preferences: options?.preferences, prompt: typeof message === "string" ? message : JSON.stringify(message) }
      return governed(scope, req, (r) => manager.chat(id, message, { ...options, preferences: r.preferences }))
    },
    generateStream: (req, ctx) => {
      const scope = ctx?.scope ?? "default"
      const caller = deps.callerOf(scope)
      const startedAt = performance.now()
      return Stream.unwrap(Effect.map(admit(caller, req) as unknown as Effect.Effect<Admitted, LLMError>, (a) => {
        let last: Partial<LLMResponse> = {}
        return manager.generateStream(a.req, ctx).pipe(
          Stream.tap((chunk: StreamChunk) =>
            Effect.sync(() => {
              if (chunk.provider !== undefined) last = { ...last, provider: chunk.provider, model: chunk.model, attempts: chunk.attempts ?? last.attempts, cached: chunk.cached ?? last.cached }
              if (chunk.usage !== undefined) last = { ...last, usage: chunk.usage, costUsd: chunk.costUsd }
              // the answer so far, only when bodies are kept (and no more than the row keeps)
              if (deps.bodies !== undefined && chunk.delta.length > 0 && (last.content?.length ?? 0) < 16_384) last = { ...last, content: (last.content ?? "") + chunk.delta }
            })
          ),
          Stream.onExit((exit) => {
            deps.ledger.record(row(caller, scope, req, startedAt, last, statusOfExit(exit)))
            return a.settle(Exit.isSuccess(exit) && last.costUsd !== undefined ? last.costUsd : Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? undefined : 0)
          })
        )
      }))
    }
  }
}
