/**
 * The seed-004 endpoints' JSON (`/api/v1/llm/generate`, `/chat`, `/status`) in snake_case as
 * the seed shows them, plus the gateway's extras (`cost_usd`, `usage`, `conversation_id`,
 * per-model circuit state).
 */
import type { CacheStats } from "@llm-gateway/core/cache/CacheService"
import type { ChatMessage, LLMRequest, LLMResponse } from "@llm-gateway/core/domain/Domain"
import type { ModelInfo, RouterStats } from "@llm-gateway/core/routing/ModelRouter"
import { roundUsd } from "@llm-gateway/core/accounting/Pricing"
import type { UsageRow } from "@llm-gateway/core/accounting/UsageAccounting"
import { type ApiError, modelNotFound } from "../HttpError.ts"
import { openAIFinish, openAIUsage } from "./chatWire.ts"
import * as V from "./validate.ts"

export interface SeedTarget {
  readonly provider: string | undefined
  readonly model: string | undefined
}

interface SeedCommon {
  readonly target: SeedTarget
  readonly taskType: string | undefined
  readonly preferences: LLMRequest["preferences"]
  readonly cache: boolean
}

export interface SeedGenerate extends SeedCommon {
  readonly messages: ReadonlyArray<ChatMessage>
}

export interface SeedChat extends SeedCommon {
  readonly conversationId: string | undefined
  readonly messages: ReadonlyArray<ChatMessage>
}

const readMessages = (r: V.Reader, body: V.Body): Array<ChatMessage> | undefined => {
  const raw = body.messages
  if (!Array.isArray(raw)) return r.fail("messages", "'messages' must be an array")
  if (raw.length === 0) return r.fail("messages", "'messages' must contain at least one message")
  const out = new Array<ChatMessage>(raw.length)
  for (let i = 0; i < raw.length; i++) {
    const o = r.object(raw[i], `messages[${i}]`)
    const role = r.string(o, "role", `messages[${i}].role`)
    if (role !== "system" && role !== "user" && role !== "assistant") {
      r.fail(`messages[${i}].role`, `'messages[${i}].role' must be one of system, user, assistant`)
    }
    out[i] = { role: role as "system" | "user" | "assistant", content: r.string(o, "content", `messages[${i}].content`) }
  }
  return out
}

const readCommon = (r: V.Reader, body: V.Body): SeedCommon => {
  const maxTokens = r.optPositiveInt(body, "max_tokens")
  const temperature = r.optNumber(body, "temperature", TEMPERATURE_RANGE)
  const topP = r.optNumber(body, "top_p", UNIT_RANGE)
  const stop = r.optStop(body)
  const strategy = r.strategy(r.optString(body, "strategy"), "strategy")
  return {
    target: { provider: r.optString(body, "provider"), model: r.optString(body, "model") },
    taskType: r.optString(body, "task_type") ?? r.optString(body, "task"),
    preferences: { maxTokens, temperature, topP, stop, strategy },
    cache: r.optBoolean(body, "use_cache") ?? true
  }
}

const TEMPERATURE_RANGE: V.NumberRange = { min: 0, max: 2 }
const UNIT_RANGE: V.NumberRange = { min: 0, max: 1 }

export const readGenerate = (raw: unknown): SeedGenerate | ApiError => {
  const r = new V.Reader()
  const body = r.object(raw)
  if (r.failed) return r.error()
  const common = readCommon(r, body)
  const prompt = r.optString(body, "prompt")
  if (prompt !== undefined) return r.done({ ...common, messages: [{ role: "user", content: prompt }] })
  const messages = body.messages === undefined || body.messages === null
    ? r.fail("prompt", "'prompt' is required")
    : readMessages(r, body)
  return r.failed || messages === undefined ? r.error() : { ...common, messages }
}

export const readChat = (raw: unknown): SeedChat | ApiError => {
  const r = new V.Reader()
  const body = r.object(raw)
  if (r.failed) return r.error()
  const common = readCommon(r, body)
  const conversationId = r.optString(body, "conversation_id")
  if (conversationId !== undefined && (conversationId.length === 0 || conversationId.length > 200)) {
    r.fail("conversation_id", "'conversation_id' must be 1 to 200 characters")
  }
  const message = r.optString(body, "message")
  const messages = message !== undefined ? [{ role: "user" as const, content: message }] : readMessages(r, body)
  if (r.failed || messages === undefined) return r.error()
  if (conversationId !== undefined && messages[messages.length - 1].role !== "user") {
    r.fail(`messages[${messages.length - 1}].role`, "the last message of a conversation turn must be the user's")
    return r.error()
  }
  return { ...common, conversationId, messages }
}

/**
 * The seed's `provider` (+ optional `model`) as a model ref: `provider` alone picks that
 * provider's first chat model; `model` alone is a ref or a bare id (the router resolves it).
 */
export const resolveTarget = (target: SeedTarget, models: ReadonlyArray<ModelInfo>): string | undefined | ApiError => {
  const { provider, model } = target
  if (provider === undefined || provider === "") return model === undefined || model === "" || model === "auto" ? undefined : model
  if (model !== undefined && model !== "" && model !== "auto") {
    return model.startsWith(`${provider}/`) ? model : `${provider}/${model}`
  }
  const first = models.find((m) => m.provider === provider && !m.embedding)
  return first?.ref ?? modelNotFound(provider, `no configured provider "${provider}" has a chat model (GET /v1/models lists them)`)
}

const round = (n: number, digits = 1) => {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export const generateJson = (r: LLMResponse, extra?: Record<string, unknown>): string =>
  JSON.stringify({
    text: r.content,
    model: r.model,
    provider: r.provider,
    tokens_used: r.usage.totalTokens,
    latency_ms: round(r.latencyMs),
    cached: r.cached,
    cost_usd: dollars(r.costUsd),
    finish_reason: openAIFinish(r.finishReason),
    usage: openAIUsage(r.usage),
    ...extra
  })

/** Dollars summed from many small floats: cut the binary noise, keep sub-cent precision. */
/** The gateway's one cost rounding (1e-10 USD, at most 12 significant digits). */
const dollars = roundUsd

const circuitName = (c: string) => (c === "half-open" ? "half_open" : c)

export const statusJson = (
  stats: RouterStats,
  cache: CacheStats,
  usage: ReadonlyArray<UsageRow>,
  uptimeSeconds: number
): string => {
  const providers: Record<string, unknown> = {}
  const rateLimits: Record<string, unknown> = {}
  for (const p of stats.providers) {
    const mine = stats.deployments.filter((d) => d.provider === p.name)
    const circuit = mine.some((d) => d.circuit === "open")
      ? "open"
      : mine.some((d) => d.circuit === "half-open")
      ? "half_open"
      : "closed"
    providers[p.name] = {
      type: p.type,
      status: p.status,
      total_requests: p.requests,
      errors: p.errors,
      success_rate: round(p.successRate, 4),
      avg_latency_ms: p.avgLatencyMs === undefined ? null : round(p.avgLatencyMs),
      circuit_state: circuit
    }
    if (p.availableRequests !== undefined || p.availableTokens !== undefined) {
      rateLimits[p.name] = {
        available_requests: p.availableRequests ?? null,
        available_tokens: p.availableTokens ?? null
      }
    }
  }
  let requests = 0
  let promptTokens = 0
  let completionTokens = 0
  let costUsd = 0
  for (const row of usage) {
    requests += row.requests
    promptTokens += row.promptTokens
    completionTokens += row.completionTokens
    costUsd += row.costUsd
  }
  return JSON.stringify({
    providers,
    models: stats.deployments.map((d) => ({
      id: d.ref,
      provider: d.provider,
      model: d.model,
      total_requests: d.requests,
      errors: d.errors,
      success_rate: round(d.successRate, 4),
      avg_latency_ms: d.avgLatencyMs === undefined ? null : round(d.avgLatencyMs),
      circuit_state: circuitName(d.circuit),
      rate_limit: d.rateLimit === undefined ? null : {
        rpm: d.rateLimit.rpm ?? null,
        tpm: d.rateLimit.tpm ?? null,
        available_requests: d.rateLimit.availableRequests ?? null,
        available_tokens: d.rateLimit.availableTokens ?? null
      }
    })),
    cache: {
      size: cache.size,
      hit_rate: round(cache.hitRate, 4),
      hits: cache.hits,
      misses: cache.misses
    },
    rate_limits: rateLimits,
    failovers: stats.failovers,
    usage: { requests, prompt_tokens: promptTokens, completion_tokens: completionTokens, cost_usd: dollars(costUsd) },
    uptime_seconds: Math.round(uptimeSeconds)
  })
}
