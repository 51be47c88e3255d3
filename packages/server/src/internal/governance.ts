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
 * Every method that calls an upstream goes through it: `generate`, `chat`, `generateStream`,
 * `embed` (task `embedding`, embedding models only, no output tokens) and `generateObject` (each
 * of its calls, the repair too, as a `generate`: alert classification writes its rows).
 *
 * Refusals are `ApiError`s failing through the manager's error channel: the routes' `guard`
 * answers any `Failure`, so they reach the client as 403/429 in the usual envelope. A refused
 * call writes its ledger row too, with that status and no model.
 */
import type { ModelEntry, RoutingConfig } from "@llm-gateway/core/config/ConfigSchema"
import { costOfUsage, DEFAULT_OUTPUT_TOKENS, estimatePromptTokens, estimateTokens } from "@llm-gateway/core/accounting/Pricing"
import { type EmbeddingInput, isTokenInput, type LLMRequest, type LLMResponse, type StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import { type EmbedResult, type LLMManagerShape, makeGenerateObject, makeTaskResolver, type StreamObserver } from "@llm-gateway/core/manager/LLMManager"
import type { BudgetLine, BudgetStoreShape } from "@llm-gateway/storage/BudgetStore"
import type { KeyRecord, TeamRecord } from "@llm-gateway/storage/KeyStore"
import type { LedgerRow, UsageLedgerShape } from "@llm-gateway/storage/UsageLedger"
import { Effect, Exit, Stream } from "effect"
import type { RateLimiter } from "effect/persistence/RateLimiter"
import type { Mutable } from "effect/Types"
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
  /**
   * The task a request is routed and accounted under (built-in or configured; anything else is
   * `general`): the raw `x-llm-task` must never become a ledger or rollup dimension.
   */
  readonly taskOf: (name: string | undefined) => string
}

const DAY = 86_400_000
const EMBEDDING_TASK = "embedding"

/**
 * `taskOf` for a config: a name the manager would route as `general` (or refuse) is `general`;
 * `embedding` is the ledger's own task for embeddings calls.
 */
export const boundedTask = (routing: Pick<RoutingConfig, "tasks" | "unknownTasks">) => {
  const resolve = makeTaskResolver(routing)
  return (name: string | undefined): string => {
    if (name === EMBEDDING_TASK) return name
    const task = resolve(name)
    return typeof task === "string" ? task : "general"
  }
}

/** The budget line of a key or team for the period `at` falls in. */
export const budgetLine = (kind: "key" | "team", id: string, limitUsd: number, period: KeyRecord["budgetPeriod"], at: number): BudgetLine => {
  const owner = { kind, id }
  if (period === "total") return { id: `${kind}:${id}:total`, limitUsd, periodStartsAt: 0, owner }
  const d = new Date(at)
  if (period === "day") {
    const start = Math.floor(at / DAY) * DAY
    return { id: `${kind}:${id}:day:${d.toISOString().slice(0, 10)}`, limitUsd, periodStartsAt: start, periodEndsAt: start + DAY, owner }
  }
  return {
    id: `${kind}:${id}:month:${d.toISOString().slice(0, 7)}`,
    limitUsd,
    periodStartsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    periodEndsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
    owner
  }
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

/** What a call may cost, as admission sees it. */
interface Demand {
  readonly model: string | undefined
  readonly task: string
  /** The prompt estimate, with its margin. */
  readonly promptTokens: number
  /** Embeddings produce no output tokens and reach only embedding models. */
  readonly embedding: boolean
  /** The caller's `maxTokens` (chat only). */
  readonly maxTokens?: number | undefined
}

/** Admission as the caller's key allows it: the `maxTokens` to run with, and how to settle. */
interface Admitted {
  readonly maxTokens: number | undefined
  readonly settle: (costUsd: number | undefined) => Effect.Effect<void>
}

const open: Admitted = { maxTokens: undefined, settle: () => Effect.void }

const promptEstimate = (req: LLMRequest) =>
  Math.ceil((req.messages !== undefined ? estimatePromptTokens(req.messages as never) : estimateTokens(req.prompt ?? "")) * 1.1) + 16

const embedEstimate = (texts: EmbeddingInput) =>
  isTokenInput(texts) ? texts.reduce((n, ids) => n + ids.length, 0) : Math.ceil(texts.reduce((n, t) => n + estimateTokens(t), 0) * 1.1) + 16

export const makeGovernedManager = (manager: LLMManagerShape, deps: GovernanceDeps): LLMManagerShape => {
  const chatModels = [...deps.models.entries()].filter(([, m]) => m.embedding !== true)
  const embeddingModels = [...deps.models.entries()].filter(([, m]) => m.embedding === true)

  const admit = (caller: Caller | undefined, d: Demand): Effect.Effect<Admitted, ApiError> => {
    const key = caller?.key
    if (key === undefined) return Effect.succeed(open)
    return Effect.gen(function*() {
      // the models this call may reach: the one it names, else every configured model of its kind
      const kind = d.embedding ? embeddingModels : chatModels
      const named = d.model !== undefined && d.model !== "auto" && d.model !== ""
        ? [...deps.models.entries()].filter(([ref, m]) => ref === d.model || m.id === d.model || m.alias === d.model)
        : []
      const reachable = named.length > 0 ? named : kind
      if (key.models !== null && key.models.length > 0) {
        const allowed = reachable.filter(([ref]) => modelAllowed(key.models!, ref))
        if (allowed.length === 0 || (named.length > 0 && allowed.length < named.length)) {
          return yield* Effect.fail(forbidden("model_not_allowed", `key ${key.name} may not use model ${d.model ?? "auto"}`))
        }
      }
      if (key.tasks !== null && key.tasks.length > 0 && !key.tasks.includes(d.task)) {
        return yield* Effect.fail(forbidden("task_not_allowed", `key ${key.name} may not run task ${d.task}`))
      }
      const maxTokens = d.embedding
        ? 0
        : d.maxTokens ?? Math.max(...reachable.map(([, m]) => m.maxOutputTokens ?? DEFAULT_OUTPUT_TOKENS), DEFAULT_OUTPUT_TOKENS)
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
      yield* limited("tpm", key.tpm, d.promptTokens + maxTokens)

      const now = Date.now()
      const lines: Array<BudgetLine> = []
      if (key.budgetUsd !== null) lines.push(budgetLine("key", key.id, key.budgetUsd, key.budgetPeriod, now))
      const team = caller?.team
      if (team !== undefined && team.budgetUsd !== null) lines.push(budgetLine("team", team.id, team.budgetUsd, team.budgetPeriod, now))
      const capped = d.embedding ? undefined : maxTokens
      if (lines.length === 0) return { maxTokens: capped, settle: () => Effect.void }
      let worst = 0
      for (const [, m] of reachable) {
        worst = Math.max(worst, (d.promptTokens * (m.inputCostPer1M ?? 0) + maxTokens * (m.outputCostPer1M ?? 0)) / 1_000_000)
      }
      const reservation = yield* deps.budgets.reserve(lines, worst, deps.timeoutMs + 60_000)
      if (!reservation.ok) {
        const who = reservation.line.id.startsWith("team:") ? `team ${team?.id}` : `key ${key.name}`
        return yield* Effect.fail(budgetExceeded(who, reservation.remainingUsd))
      }
      return {
        maxTokens: capped,
        // an unknown real cost (a stream cut off) settles at the reserved worst case
        settle: (cost) => deps.budgets.settle(reservation.id, lines, cost ?? worst)
      }
    })
  }

  /** A chat request's demand; admitted, it runs with the `maxTokens` reserved for. */
  const chatDemand = (req: LLMRequest): Demand => ({
    model: req.model,
    task: deps.taskOf(req.taskType),
    promptTokens: promptEstimate(req),
    embedding: false,
    maxTokens: req.preferences?.maxTokens
  })
  const capped = (req: LLMRequest, a: Admitted): LLMRequest =>
    a.maxTokens === undefined || req.preferences?.maxTokens !== undefined ? req : { ...req, preferences: { ...req.preferences, maxTokens: a.maxTokens } }

  const row = (caller: Caller | undefined, scope: string, req: LLMRequest, startedAt: number, r: Partial<LLMResponse> | undefined, status: number): LedgerRow => {
    // counted, not filtered into a new array
    let tried = 0
    for (const a of r?.attempts ?? []) if (!a.outcome.startsWith("skipped:")) tried++
    return {
      at: Date.now(),
      keyId: caller?.key?.id ?? null,
      team: caller?.key?.team ?? null,
      scope,
      task: deps.taskOf(req.taskType),
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

  /**
   * Admission, the call, then its one ledger row; a refused call gets its row too (403 / 429).
   * A caller without a virtual key is always admitted as it is (`open`): its call runs at once,
   * with no admission step and no demand estimated.
   */
  const governed = <A, E>(
    scope: string,
    req: LLMRequest,
    demand: () => Demand,
    run: (a: Admitted) => Effect.Effect<A, E>,
    summary: (a: A) => Partial<LLMResponse>
  ) => {
    const caller = deps.callerOf(scope)
    const startedAt = performance.now()
    const recorded = (a: Admitted) =>
      run(a).pipe(
        Effect.onExit((exit) => {
          const r = Exit.isSuccess(exit) ? summary(exit.value) : undefined
          deps.ledger.record(row(caller, scope, req, startedAt, r, r !== undefined ? 200 : statusOfExit(exit)))
          return a.settle(r !== undefined ? r.costUsd ?? 0 : Exit.hasInterrupts(exit) ? undefined : 0)
        })
      )
    if (caller?.key === undefined) return recorded(open)
    return admit(caller, demand()).pipe(
      Effect.tapError((e) => Effect.sync(() => deps.ledger.record(row(caller, scope, req, startedAt, undefined, e.status)))),
      Effect.flatMap(recorded)
    ) as Effect.Effect<A, E>
  }

  const statusOfExit = (exit: Exit.Exit<unknown, unknown>): number => {
    if (Exit.isSuccess(exit)) return 200
    const e = exit.cause.reasons.find((r) => r._tag === "Fail")
    return e === undefined ? 499 : statusOf((e as { error: unknown }).error)
  }

  const generate: LLMManagerShape["generate"] = (req, ctx) =>
    governed(ctx?.scope ?? "default", req, () => chatDemand(req), (a) => manager.generate(capped(req, a), ctx), (r) => r)

  /** An embedding call's price: the model's input rate (the router prices it the same way). */
  const embedSummary = (r: EmbedResult): Partial<LLMResponse> => {
    const entry = deps.models.get(`${r.provider}/${r.model}`)
    return { provider: r.provider, model: r.model, usage: r.usage, costUsd: entry === undefined ? 0 : costOfUsage(entry, r.usage) }
  }

  return {
    ...manager,
    generate,
    // each call (the first and a repair) admitted, reserved for and recorded like any generate
    generateObject: makeGenerateObject(generate),
    embed: (texts, options) => {
      const req: LLMRequest = { model: options?.model, taskType: "embedding", prompt: "" }
      const demand = (): Demand => ({ model: options?.model, task: "embedding", promptTokens: embedEstimate(texts), embedding: true })
      return governed(options?.scope ?? "default", req, demand, () => manager.embed(texts, options), embedSummary)
    },
    chat: (id, message, options) => {
      const scope = options?.scope ?? "default"
      const req: LLMRequest = { model: options?.model, taskType: options?.taskType, preferences: options?.preferences, prompt: typeof message === "string" ? message : JSON.stringify(message) }
      return governed(scope, req, () => chatDemand(req), (a) => manager.chat(id, message, { ...options, preferences: capped(req, a).preferences }), (r) => r)
    },
    generateStream: (req, ctx) => {
      const scope = ctx?.scope ?? "default"
      const caller = deps.callerOf(scope)
      const startedAt = performance.now()
      const governedStream = (a: Admitted) => {
        // what the ledger row needs, kept as the batches pass, inside the manager's own stage
        // (CallContext.observe: a stage of ours around the stream cost ~10 % of its CPU), fields
        // assigned rather than spread
        const last: Mutable<Partial<LLMResponse>> = {}
        const observe: StreamObserver = {
          batch: (batch) => {
            for (let i = 0; i < batch.length; i++) {
              const chunk = batch[i]
              if (chunk.provider !== undefined) {
                last.provider = chunk.provider
                last.model = chunk.model
                if (chunk.attempts !== undefined) last.attempts = chunk.attempts
                if (chunk.cached !== undefined) last.cached = chunk.cached
              }
              if (chunk.usage !== undefined) {
                last.usage = chunk.usage
                last.costUsd = chunk.costUsd
              }
              // the answer so far, only when bodies are kept (and no more than the row keeps)
              if (deps.bodies !== undefined && chunk.delta.length > 0 && (last.content?.length ?? 0) < 16_384) last.content = (last.content ?? "") + chunk.delta
            }
          },
          exit: (exit) => {
            deps.ledger.record(row(caller, scope, req, startedAt, last, statusOfExit(exit)))
            return a.settle(Exit.isSuccess(exit) && last.costUsd !== undefined ? last.costUsd : Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? undefined : 0)
          }
        }
        // a caller's own observer (a wrapper of this manager) sees the stream too
        const outer = ctx?.observe
        const both: StreamObserver = outer === undefined ? observe : {
          batch: (batch) => {
            observe.batch(batch)
            outer.batch(batch)
          },
          exit: (exit) => Effect.andThen(observe.exit(exit), outer.exit(exit))
        }
        return manager.generateStream(capped(req, a), { ...ctx, observe: both })
      }
      // no key, nothing to admit (as `governed`): no demand estimated, no unwrap
      if (caller?.key === undefined) return governedStream(open)
      const admitted = admit(caller, chatDemand(req)).pipe(
        Effect.tapError((e) => Effect.sync(() => deps.ledger.record(row(caller, scope, req, startedAt, undefined, e.status))))
      )
      return Stream.unwrap(Effect.map(admitted as unknown as Effect.Effect<Admitted, LLMError>, governedStream))
    }
  }
}
