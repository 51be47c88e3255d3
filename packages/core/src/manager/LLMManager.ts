/**
 * What other packages call: `Effect.runPromise(manager.generate(req))`. Ties the router (which
 * model, retries, fallbacks), the cache, conversation storage and usage accounting together.
 */
import { Clock, Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { CacheService } from "../cache/CacheService.ts"
import { type Conversation, type ConversationNotFound, ConversationStorage } from "../conversations/ConversationStorage.ts"
import {
  type ChatMessage,
  type EmbeddingInput,
  type EmbeddingResponse,
  LLMRequest,
  type LLMResponse,
  requestMessages,
  type StreamChunk,
  type Usage
} from "../domain/Domain.ts"
import { LLMConfig } from "../config/LLMConfig.ts"
import { findTooDeep, tooDeepError } from "../domain/JsonDepth.ts"
import { InvalidRequest, type LLMError } from "../domain/LLMError.ts"
import { annotated, annotateParentSpan, isTracing, providerName, requestAttributes } from "../metrics/GenAiSpans.ts"
import { ModelRouter, type RoutePlan } from "../routing/ModelRouter.ts"
import { windowTokenEstimator } from "../accounting/TokenEstimator.ts"
import { UsageAccounting, type UsageRow } from "../accounting/UsageAccounting.ts"
import { generateChoices, streamChoices } from "./internal/choices.ts"
import { decodeObject, objectRequest, repairRequest, StructuredOutputError } from "./internal/structuredOutput.ts"
import { DEFAULT_TASK, makeTaskResolver } from "./internal/tasks.ts"

export { StructuredOutputError } from "./internal/structuredOutput.ts"

/** Who is calling: the tenant / API key that scopes cache entries and usage. */
export interface CallContext {
  readonly scope?: string | undefined
  /**
   * The caller built the request from input it already validated against the same rules (the
   * HTTP server does): skip the Schema decode, which is ~3% of a request's CPU at full load.
   */
  readonly validated?: boolean | undefined
}

export interface ChatOptions extends CallContext {
  readonly taskType?: string | undefined
  readonly model?: string | undefined
  readonly preferences?: LLMRequest["preferences"]
  /** A system prompt used when the conversation is created. */
  readonly system?: string | undefined
}

export interface ChatResponse extends LLMResponse {
  readonly conversationId: string
}

export interface EmbedOptions {
  readonly model?: string | undefined
  readonly dimensions?: number | undefined
}

export interface EmbedResult extends EmbeddingResponse {
  readonly provider: string
}

export interface LLMManagerShape {
  readonly generate: (req: LLMRequest, ctx?: CallContext) => Effect.Effect<LLMResponse, LLMError>
  /** Chunks `{ delta, … }`; the last carries `usage`, `finishReason`, `costUsd`. */
  readonly generateStream: (req: LLMRequest, ctx?: CallContext) => Stream.Stream<StreamChunk, LLMError>
  readonly chat: (
    conversationId: string,
    message: string | ChatMessage,
    options?: ChatOptions
  ) => Effect.Effect<ChatResponse, LLMError>
  /** A conversation `chat` keeps (history in order), within the caller's scope. */
  readonly getConversation: (conversationId: string, ctx?: CallContext) => Effect.Effect<Conversation, ConversationNotFound>
  /** Forgets a conversation: the next `chat` with its id starts a new one. */
  readonly deleteConversation: (conversationId: string, ctx?: CallContext) => Effect.Effect<void, ConversationNotFound>
  /** Texts, or token arrays (OpenAI-wire providers only); `dimensions` for models that can shorten vectors. */
  readonly embed: (texts: EmbeddingInput, options?: EmbedOptions) => Effect.Effect<EmbedResult, LLMError>
  readonly generateObject: <A, I>(
    req: LLMRequest,
    schema: Schema.Codec<A, I>,
    ctx?: CallContext
  ) => Effect.Effect<{ readonly object: A; readonly response: LLMResponse }, LLMError | StructuredOutputError>
  readonly usage: Effect.Effect<ReadonlyArray<UsageRow>>
}

const DEFAULT_SCOPE = "default"
const decodeRequest = Schema.decodeUnknownEffect(LLMRequest)

/** Validates a caller's request: a typed InvalidRequest naming the field, never a defect. */
const validate = (req: LLMRequest): Effect.Effect<LLMRequest, InvalidRequest> => {
  // Caller JSON (responseFormat.schema, …) is walked recursively downstream: bound its depth first.
  const deep = findTooDeep(req)
  if (deep !== undefined) return Effect.fail(new InvalidRequest(tooDeepError(deep)))
  return decodeRequest(req).pipe(
    Effect.mapError((error) => new InvalidRequest({ message: error.message })),
    Effect.flatMap((decoded) =>
      requestMessages(decoded).length === 0
        ? Effect.fail(new InvalidRequest({ message: "a request needs `prompt` or non-empty `messages`", param: "messages" }))
        : Effect.succeed(decoded)
    )
  )
}

export const make = Effect.gen(function*() {
  const router = yield* ModelRouter
  const cache = yield* CacheService
  const storage = yield* ConversationStorage
  const accounting = yield* UsageAccounting
  // Without a config (a test composing the services by hand) only the built-in tasks are known.
  const config = yield* Effect.serviceOption(LLMConfig)
  const resolveTask = makeTaskResolver(Option.isSome(config) ? config.value.routing : undefined)
  /** The request with its task resolved: unknown names become `general` or fail. */
  const withKnownTask = (req: LLMRequest): Effect.Effect<LLMRequest, InvalidRequest> => {
    const task = resolveTask(req.taskType)
    if (task === req.taskType) return Effect.succeed(req)
    return typeof task === "object" ? Effect.fail(task) : Effect.succeed({ ...req, taskType: task })
  }

  const record = (req: LLMRequest, scope: string, r: { provider: string; model: string; usage: Usage; costUsd: number; cached: boolean }) =>
    accounting.record({
      provider: r.provider,
      model: r.model,
      task: req.taskType ?? DEFAULT_TASK,
      scope,
      promptTokens: r.usage.promptTokens,
      completionTokens: r.usage.completionTokens,
      costUsd: r.costUsd,
      cached: r.cached
    })

  // gen_ai.provider.name is the provider's kind (`openai`, `anthropic`), not its configured name
  const providerTypes = new Map(Option.isSome(config) ? config.value.providers.map((p) => [p.name, providerName(p.type)]) : [])
  const genAiProvider = (r: LLMResponse) => providerTypes.get(r.provider) ?? r.provider
  const spanRequest = (req: LLMRequest) => ({
    model: req.model ?? "auto",
    maxTokens: req.preferences?.maxTokens,
    temperature: req.preferences?.temperature,
    topP: req.preferences?.topP
  })

  /** Runs the request's plan (planned by the router itself when the manager needed none). */
  const routed = (req: LLMRequest, plan: RoutePlan | undefined) =>
    req.n !== undefined && req.n > 1
      ? generateChoices(req, req.n, router.generate(req, plan), router.generate)
      : router.generate(req, plan)

  const fromRouter = (req: LLMRequest, plan?: RoutePlan): Effect.Effect<LLMResponse, LLMError> =>
    Effect.map(routed(req, plan), (r): LLMResponse => ({
      content: r.content,
      provider: r.provider,
      model: r.model,
      usage: r.usage,
      costUsd: r.costUsd,
      latencyMs: r.latencyMs,
      cached: false,
      finishReason: r.finishReason,
      attempts: r.attempts,
      ...(r.choices !== undefined && r.choices.length > 1 ? { choices: r.choices } : {}),
      ...(r.ignoredFields !== undefined ? { ignoredFields: r.ignoredFields } : {})
    }))

  /** The cache key comes from the plan the request then runs: one plan per request. */
  const keyOf = (req: LLMRequest, scope: string, plan: RoutePlan) =>
    cache.key(req, { scope, candidates: plan.candidates.map((c) => c.ref) })

  const generateValidated = Effect.fnUntraced(function*(req: LLMRequest, scope: string) {
    // No cache, no key: building one costs a plan and a SHA-256 per request.
    if (req.cache === false || !cache.enabled) {
      const response = yield* fromRouter(req)
      yield* record(req, scope, response)
      return response
    }
    const plan = yield* router.plan(req)
    const key = keyOf(req, scope, plan)
    const startedNs = yield* Clock.currentTimeNanos
    // a look-alike prompt's answer has one choice and none of this request's extra fields
    const semantic = (req.n ?? 1) > 1 || req.extra !== undefined
      ? undefined
      : { text: lastUserText(req), scope, task: req.taskType ?? DEFAULT_TASK }
    const { response: found, cache: outcome } = yield* cache.getOrCompute(key, fromRouter(req, plan), { semantic })
    // A hit carries the latency of the request that computed it: report this request's own.
    const response = outcome === "hit"
      ? { ...found, latencyMs: Number((yield* Clock.currentTimeNanos) - startedNs) / 1e6 }
      : found
    yield* record(req, scope, response)
    return response
  })

  // Effect.fn captures its call-site once, at definition; a per-call `withSpan` would build an
  // Error (for the span's stack) on every request — measured at ~2% of the server's CPU.
  const generate = Effect.fn("LLMManager.generate")(function*(req: LLMRequest, ctx?: CallContext) {
    const valid = yield* withKnownTask(ctx?.validated === true ? req : yield* validate(req))
    return yield* annotated("chat", () => spanRequest(valid), genAiProvider, generateValidated(valid, ctx?.scope ?? DEFAULT_SCOPE))
  })

  const generateStream = (req: LLMRequest, ctx?: CallContext): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(
      Effect.gen(function*() {
        const valid = yield* withKnownTask(ctx?.validated === true ? req : yield* validate(req))
        const scope = ctx?.scope ?? DEFAULT_SCOPE
        const n = valid.n ?? 1
        // several streamed choices are not cached: a replay has one choice
        const useCache = valid.cache !== false && cache.enabled && n === 1
        const plan = useCache ? yield* router.plan(valid) : undefined
        const key = plan !== undefined ? keyOf(valid, scope, plan) : undefined
        if (key !== undefined) {
          const hit = yield* cache.get(key)
          if (Option.isSome(hit)) {
            yield* record(valid, scope, { ...hit.value, cached: true })
            return CacheService.replayAsStream(hit.value)
          }
        }
        // Collect what streams past so a complete answer can be cached and accounted afterwards
        // (the text only when it will be cached: accounting needs no content).
        const keep = key !== undefined
        let content = ""
        let provider = ""
        let model = ""
        let ignoredFields: ReadonlyArray<string> | undefined
        const started = Date.now()
        // Per batch, not per chunk: the bookkeeping is synchronous, and only the batch that
        // carries the last chunk runs an effect (cache write, accounting).
        const upstream = n > 1 ? streamChoices(valid, n, router.stream) : router.stream(valid, plan)
        const tracing = yield* Effect.withFiber((fiber) => Effect.succeed(isTracing(fiber)))
        const out = Stream.mapArrayEffect(upstream, (batch) => {
          let last: StreamChunk | undefined
          for (let i = 0; i < batch.length; i++) {
            const chunk = batch[i]
            if (keep && chunk.choiceIndex === undefined) content += chunk.delta
            if (chunk.provider !== undefined) provider = chunk.provider
            if (chunk.model !== undefined) model = chunk.model
            if (chunk.ignoredFields !== undefined) ignoredFields = chunk.ignoredFields
            if (chunk.usage !== undefined && chunk.finishReason !== undefined) last = chunk
          }
          if (last === undefined) return Effect.succeed(batch)
          const response: LLMResponse = {
            content,
            provider,
            model,
            usage: last.usage!,
            costUsd: last.costUsd ?? 0,
            latencyMs: Date.now() - started,
            cached: false,
            finishReason: last.finishReason!,
            attempts: [],
            ...(ignoredFields !== undefined ? { ignoredFields } : {})
          }
          const save = key !== undefined ? cache.set(key, response) : Effect.void
          const done = Effect.andThen(save, record(valid, scope, response))
          return Effect.as(tracing ? Effect.andThen(annotateParentSpan(genAiProvider(response), response), done) : done, batch)
        })
        // the stream's span (tracing on only) covers it to the last chunk: routing, attempts, upstream
        return tracing
          ? Stream.withSpan(out, "LLMManager.generateStream", { attributes: requestAttributes("chat", spanRequest(valid)) })
          : out
      })
    )

  const chat = Effect.fn("LLMManager.chat")(function*(conversationId: string, message: string | ChatMessage, options?: ChatOptions) {
    const turn: ChatMessage = typeof message === "string" ? { role: "user", content: message } : message
    const scope = options?.scope ?? DEFAULT_SCOPE
    const taskType = resolveTask(options?.taskType)
    if (typeof taskType === "object") return yield* taskType
    // Create-if-missing is race-free: a concurrent creator makes ours fail with AlreadyExists.
    yield* storage.create({
      id: conversationId,
      scope,
      messages: options?.system !== undefined ? [{ role: "system", content: options.system }] : []
    }).pipe(Effect.catchTag("ConversationAlreadyExists", () => Effect.void))
    const history = (yield* storage.get(conversationId, { scope })).messages
    const base: LLMRequest = {
      messages: [...history, turn],
      taskType,
      model: options?.model,
      preferences: options?.preferences,
      conversationId
    }
    // Plan on the system prompt and the new turn only: the full history may not fit any window
    // yet; trimming it to the first candidate's window is exactly what happens next. The count
    // is `windowTokenEstimator`'s, which is never below the router's own estimate, so a trimmed
    // history passes the router's window check as well as the upstream's tokenizer.
    const plan = yield* router.plan({ ...base, messages: [...history.filter((m) => m.role === "system"), turn] })
    const window = plan.candidates[0]?.contextWindow
    const reserve = options?.preferences?.maxTokens ?? 1024
    let messages = base.messages!
    if (window !== undefined) {
      const tokens = yield* windowTokenEstimator
      const budget = Math.max(window - reserve, 1)
      if (tokens.countMessages(messages) > budget) messages = tokens.trimToBudget(messages, budget)
    }
    const response = yield* generateValidated({ ...base, messages, cache: false }, scope)
    yield* storage.append(conversationId, [turn, { role: "assistant", content: response.content }], { scope })
    return { ...response, conversationId }
  }, (effect) => Effect.catchTag(effect, "ConversationNotFound", (e) => Effect.fail(new InvalidRequest({ message: e.message }))))

  // The conversations `chat` keeps, seen through the caller's scope: another tenant's id is
  // reported as not found, exactly like one that never existed.
  const getConversation = (conversationId: string, ctx?: CallContext) =>
    storage.get(conversationId, { scope: ctx?.scope ?? DEFAULT_SCOPE })
  const deleteConversation = (conversationId: string, ctx?: CallContext) =>
    storage.delete(conversationId, { scope: ctx?.scope ?? DEFAULT_SCOPE })

  const embed = Effect.fn("LLMManager.embed")(function*(texts: EmbeddingInput, options?: EmbedOptions) {
    if (texts.length === 0) return yield* new InvalidRequest({ message: "embed needs at least one text", param: "input" })
    return yield* router.embed({ model: options?.model, input: texts, dimensions: options?.dimensions })
  })

  const generateObject = <A, I>(req: LLMRequest, schema: Schema.Codec<A, I>, ctx?: CallContext) =>
    Effect.gen(function*() {
      const first = yield* generate(objectRequest(req, schema), ctx)
      const decoded = decodeObject(schema, first.content)
      if (decoded._tag === "Success") return { object: decoded.success, response: first }
      // One repair attempt: show the model its answer and what was wrong with it.
      const second = yield* generate(repairRequest(req, schema, first.content, decoded.failure), ctx)
      const repaired = decodeObject(schema, second.content)
      if (repaired._tag === "Success") return { object: repaired.success, response: second }
      return yield* new StructuredOutputError({ message: repaired.failure, content: second.content })
    })

  return LLMManager.of({
    generate,
    generateStream,
    chat,
    getConversation,
    deleteConversation,
    embed,
    generateObject,
    usage: accounting.report
  })
})

const lastUserText = (req: LLMRequest): string => {
  const messages = requestMessages(req)
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "user") return messages[i].content
  return ""
}

export class LLMManager extends Context.Service<LLMManager, LLMManagerShape>()("@llm-gateway/core/LLMManager") {
  /** Needs ModelRouter, CacheService, ConversationStorage and UsageAccounting. */
  static readonly layerNoDeps = Layer.effect(LLMManager, make)
}
