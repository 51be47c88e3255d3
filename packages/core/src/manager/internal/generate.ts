/**
 * One answer through the cache: the router's plan gives the cache key and is the plan that then
 * runs (one plan per request); a hit reports its own latency; every answer is accounted.
 */
import { Clock, Effect } from "effect"
import type { Mutable } from "effect/Types"
import type { CacheServiceShape } from "../../cache/CacheService.ts"
import {
  isTextMessage,
  type LLMRequest,
  type LLMResponse,
  messageText,
  requestMessages,
  toolCallsOf
} from "../../domain/Domain.ts"
import type { LLMError } from "../../domain/LLMError.ts"
import type { PassthroughRequest } from "../../providers/Passthrough.ts"
import { answersNatively, type ModelRouterShape, type RoutePlan } from "../../routing/ModelRouter.ts"
import { generateChoices } from "./choices.ts"
import type { Recorder } from "./record.ts"
import { DEFAULT_TASK } from "./tasks.ts"

/** The cache key comes from the plan the request then runs: one plan per request. */
export const keyOf = (cache: CacheServiceShape, req: LLMRequest, scope: string, plan: RoutePlan) =>
  cache.key(req, { scope, candidates: plan.candidates.map((c) => c.ref) })

const lastUserText = (req: LLMRequest): string => {
  const messages = requestMessages(req)
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "user") return messageText(messages[i])
  return ""
}

export const makeGenerate = (router: ModelRouterShape, cache: CacheServiceShape, record: Recorder) => {
  /** Runs the request's plan (planned by the router itself when the manager needed none). */
  const routed = (req: LLMRequest, plan: RoutePlan | undefined, passthrough: PassthroughRequest | undefined) =>
    req.n !== undefined && req.n > 1
      ? generateChoices(req, req.n, router.generate(req, plan), router.generate)
      : router.generate(req, plan, passthrough)

  const fromRouter = (req: LLMRequest, plan?: RoutePlan, passthrough?: PassthroughRequest): Effect.Effect<LLMResponse, LLMError> =>
    Effect.map(routed(req, plan, passthrough), (r): LLMResponse => {
      // the optional fields assigned, not spread from temporary objects (one allocation, not five)
      const response: Mutable<LLMResponse> = {
        content: r.content,
        provider: r.provider,
        model: r.model,
        usage: r.usage,
        costUsd: r.costUsd,
        latencyMs: r.latencyMs,
        cached: false,
        finishReason: r.finishReason,
        attempts: r.attempts
      }
      if (r.choices !== undefined && r.choices.length > 1) response.choices = r.choices
      if (r.ignoredFields !== undefined) response.ignoredFields = r.ignoredFields
      if (r.parts !== undefined) {
        response.parts = r.parts
        response.toolCalls = toolCallsOf(r.parts)
      }
      if (r.native !== undefined) response.native = r.native
      if (r.stopSequence !== undefined) response.stopSequence = r.stopSequence
      return response
    })

  /**
   * A validated request, answered and accounted; `plan` (cache off only): the one it was already
   * given. A pass-through request that a candidate may answer natively is not cached: the cache
   * keeps the gateway's own answers, and a native one carries what the translated request lacks.
   */
  const cached = Effect.fnUntraced(function*(req: LLMRequest, scope: string, given?: RoutePlan, passthrough?: PassthroughRequest) {
    const plan = given ?? (yield* router.plan(req))
    if (answersNatively(plan.candidates, passthrough)) {
      const response = yield* fromRouter(req, plan, passthrough)
      yield* record(req, scope, response)
      return response
    }
    const key = keyOf(cache, req, scope, plan)
    const startedNs = yield* Clock.currentTimeNanos
    // a look-alike prompt's answer has one choice and none of this request's extra fields
    // nor its tools or parts: a look-alike text is not the same tool call or image
    const semantic = (req.n ?? 1) > 1 || req.extra !== undefined || req.tools !== undefined ||
        !requestMessages(req).every(isTextMessage)
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

  return (req: LLMRequest, scope: string, given?: RoutePlan, passthrough?: PassthroughRequest): Effect.Effect<LLMResponse, LLMError> =>
    // No cache, no key: building one costs a plan and a SHA-256 per request. Two steps, no generator.
    req.cache === false || !cache.enabled
      ? Effect.flatMap(fromRouter(req, given, passthrough), (response) => Effect.as(record(req, scope, response), response))
      : cached(req, scope, given, passthrough)
}
