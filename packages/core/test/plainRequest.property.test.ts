/**
 * The manager's fast check for plain text requests (manager/internal/plainRequest.ts) against
 * the Schema it stands in for: on any input, accepted or refused alike, `validate` answers what
 * the `LLMRequest` decode answers — the same request, or an InvalidRequest with the same message.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LLMRequest, requestMessages } from "@llm-gateway/core/domain/Domain"
import { Effect, Exit, Schema } from "effect"
import { isPlainTextRequest } from "../src/manager/internal/plainRequest.ts"
import { validate } from "../src/manager/internal/requests.ts"

const decode = Schema.decodeUnknownExit(LLMRequest)

/** What validate answered before the fast check: the decode, then the non-empty messages rule. */
const reference = (u: unknown) => {
  const exit = decode(u)
  if (Exit.isFailure(exit)) return { error: "decode" }
  return requestMessages(exit.value).length === 0 ? { error: "a request needs `prompt` or non-empty `messages`" } : { value: exit.value }
}

const actual = (u: unknown) => {
  const exit = Effect.runSyncExit(validate(u as LLMRequest))
  if (Exit.isSuccess(exit)) return { value: exit.value }
  const e = exit.cause.toJSON() as unknown
  const message = JSON.stringify(e)
  return { error: message.includes("a request needs `prompt`") ? "a request needs `prompt` or non-empty `messages`" : "decode" }
}

const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -3, max: 300 }),
  fc.double({ min: -1, max: 3 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, 0.5, 1, 2, 0),
  fc.constant([]),
  fc.constant({})
)
const role = fc.constantFrom("system", "user", "assistant", "tool", "other", undefined)
const message = fc.oneof(
  fc.record({ role, content: fc.oneof(fc.string({ maxLength: 6 }), anyValue, fc.constant([{ type: "text", text: "hi" }])) }, { requiredKeys: [] }),
  fc.record({ role, content: fc.string(), options: anyValue }, { requiredKeys: ["role", "content"] }),
  fc.record({ role, content: fc.string(), extraKey: anyValue }, { requiredKeys: ["role", "content"] }),
  anyValue
)
const preferences = fc.oneof(
  fc.record({
    maxTokens: fc.oneof(fc.integer({ min: -2, max: 5000 }), anyValue),
    temperature: fc.oneof(fc.double({ min: -1, max: 3, noNaN: false }), anyValue),
    topP: fc.oneof(fc.double({ min: -0.5, max: 1.5 }), anyValue),
    stop: fc.oneof(fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }), anyValue),
    strategy: fc.oneof(fc.constantFrom("cost", "performance", "balanced", "fastest"), anyValue),
    other: anyValue
  }, { requiredKeys: [] }),
  anyValue
)
const request = fc.record({
  prompt: fc.oneof(fc.string({ maxLength: 6 }), anyValue),
  messages: fc.oneof(fc.array(message, { maxLength: 4 }), anyValue),
  model: fc.oneof(fc.constantFrom("auto", "openai/gpt-4o", ""), anyValue),
  taskType: fc.oneof(fc.constantFrom("general", "sql", ""), anyValue),
  conversationId: anyValue,
  cache: anyValue,
  preferences,
  n: fc.oneof(fc.integer({ min: 0, max: 3 }), anyValue),
  extra: fc.oneof(fc.constant({ seed: 1 }), anyValue),
  unknownField: anyValue
}, { requiredKeys: [] })

/** A valid plain request, then one field (or one message's field) set to anything: near the boundary. */
const validMessage = fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: fc.string({ maxLength: 4 }) })
const validPlain = fc.record({
  prompt: fc.string({ maxLength: 4 }),
  messages: fc.array(validMessage, { maxLength: 3 }),
  model: fc.constantFrom("auto", "openai/gpt-4o"),
  taskType: fc.constantFrom("general", "sql"),
  conversationId: fc.string({ maxLength: 3 }),
  cache: fc.boolean(),
  preferences: fc.record({
    maxTokens: fc.integer({ min: 1, max: 5000 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    topP: fc.double({ min: 0, max: 1, noNaN: true }),
    strategy: fc.constantFrom("cost", "performance", "balanced")
  }, { requiredKeys: [] })
}, { requiredKeys: [] })
const fields = ["prompt", "messages", "model", "taskType", "conversationId", "cache", "preferences", "n", "extra", "tools", "unknownField"]
const nearPlain = fc.tuple(validPlain, fc.constantFrom(...fields, "message", "preference", "none"), anyValue, fc.constantFrom("role", "content", "options", "name"), fc.constantFrom("maxTokens", "temperature", "topP", "stop", "strategy", "other"))
  .map(([req, field, value, messageKey, preferenceKey]) => {
    const r: Record<string, unknown> = { ...req }
    if (field === "message") r.messages = [...(req.messages ?? []), { role: "user", content: "x", [messageKey]: value }]
    else if (field === "preference") r.preferences = { ...req.preferences, [preferenceKey]: value }
    else if (field !== "none") r[field] = value
    return r
  })

describe("validate's fast check for plain text requests", () => {
  it("answers what the Schema decode answers, on any input", () => {
    let fast = 0
    fc.assert(fc.property(fc.oneof(nearPlain, request, anyValue), (u) => {
      if (isPlainTextRequest(u)) fast++
      expect(actual(u)).toEqual(reference(u))
    }), { numRuns: 20_000 })
    // the property is about both ways: a good share of the inputs must take the fast one (about
    // 2,000 of the 20,000 do, a little under or over from seed to seed)
    expect(fast).toBeGreaterThan(1_000)
  })

  it("takes the common request without the decode, and refuses what the decode refuses", () => {
    const plain = {
      model: "openai/gpt-4o",
      taskType: "sql",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
      preferences: { maxTokens: 64, temperature: 0.2, strategy: "cost" },
      cache: false
    }
    expect(isPlainTextRequest(plain)).toBe(true)
    expect(isPlainTextRequest({ ...plain, preferences: { maxTokens: 0 } })).toBe(false)
    expect(isPlainTextRequest({ ...plain, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] })).toBe(false)
    expect(isPlainTextRequest({ ...plain, tools: [] })).toBe(false)
    expect(actual({ ...plain, preferences: { temperature: 2.5 } })).toEqual({ error: "decode" })
    expect(actual({ prompt: "hi" })).toEqual({ value: { prompt: "hi" } })
    expect(actual({ messages: [] })).toEqual({ error: "a request needs `prompt` or non-empty `messages`" })
  })
})
