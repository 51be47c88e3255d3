/**
 * The streaming fallback boundary with tool calls (issue 13, notes/rich-messages.md §4): a stream
 * that has emitted any part of a tool call never falls back mid-call — the caller would get the
 * first model's half call and a second model's whole one — it ends with the typed error; a stream
 * that fails before its first part (here: after OpenAI's opening `role` frame, which carries
 * nothing) falls back as a text stream does. Real `openai` SDK against two FakeOpenAIs, the first
 * cut mid-stream by `enqueueFault({ kind: "cutAfter" })`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Stream } from "effect"
import { fakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import type { ProviderEntry } from "../src/config/ConfigSchema.ts"
import type { StreamChunk, ToolDefinition } from "../src/domain/Domain.ts"
import { StreamedParts } from "../src/domain/StreamedParts.ts"
import { ModelClients } from "../src/providers/ModelClients.ts"
// core does not depend on the provider packages; the test reaches the sibling's source directly
import { makeOpenAIClient } from "../../openai/src/OpenAIClient.ts"
import { gatewayConfig, makeRouter } from "./router/fixtures.ts"

const providerFor = (name: string, baseUrl: string): ProviderEntry<"openai"> => ({
  name,
  type: "openai",
  baseUrl,
  apiKey: Redacted.make("sk-test"),
  models: [{ id: "gpt-4o-mini", inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
})

const weather: ToolDefinition = {
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const call = (id: string, city: string) => ({ toolCalls: [{ id, name: "get_weather", arguments: { city, unit: "celsius", detail: "hourly" } }] })

const setup = Effect.gen(function*() {
  const one = yield* fakeOpenAI({ apiKey: "sk-test" })
  const two = yield* fakeOpenAI({ apiKey: "sk-test" })
  one.script([call("call_one", "Paris")])
  two.script([call("call_two", "Rome")])
  const providers = [providerFor("one", one.baseUrl), providerFor("two", two.baseUrl)]
  const clients = yield* Effect.forEach(providers, (p) => makeOpenAIClient(p))
  const config = gatewayConfig(providers, {
    strategy: "performance",
    tasks: { general: ["one/gpt-4o-mini", "two/gpt-4o-mini"] },
    maxRetries: 0,
    attemptTimeoutMs: 2_000,
    timeoutMs: 8_000
  })
  const router = yield* makeRouter(config, ModelClients.layerFrom(clients))
  return { one, two, router }
})

const chatRequests = (fake: { server: { requests: ReadonlyArray<{ path: string }> } }) =>
  fake.server.requests.filter((r) => r.path === "/v1/chat/completions").length

/** Every chunk until the stream ends, and how it ended. */
const drain = (s: Stream.Stream<StreamChunk, unknown>) =>
  Effect.gen(function*() {
    const chunks: Array<StreamChunk> = []
    const exit = yield* Effect.exit(Stream.runForEach(s, (c) => Effect.sync(() => chunks.push(c))))
    return { chunks, exit }
  })

describe("ModelRouter streams: tool calls and the fallback boundary", () => {
  it.live("cut after the call's first fragment: the stream ends with the error, no second model", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup
      // the opening role frame, the call's header (id, name), one arguments fragment, then the cut
      one.enqueueFault({ kind: "cutAfter", chunks: 2 })
      const { chunks, exit } = yield* drain(router.stream({ prompt: "Weather in Paris?", tools: [weather] }))
      expect(exit._tag).toBe("Failure")
      const deltas = chunks.flatMap((c) => c.toolCallDeltas ?? [])
      expect(deltas[0]).toMatchObject({ index: 0, id: "call_one", name: "get_weather" })
      expect(deltas.some((d) => d.id === "call_two")).toBe(false)
      expect(chatRequests(two)).toBe(0)
    }).pipe(Effect.scoped))

  it.live("cut right after the call's header (no argument yet): still committed, no fallback", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup
      one.enqueueFault({ kind: "cutAfter", chunks: 1 })
      const { chunks, exit } = yield* drain(router.stream({ prompt: "Weather in Paris?", tools: [weather] }))
      expect(exit._tag).toBe("Failure")
      expect(chunks.flatMap((c) => c.toolCallDeltas ?? []).map((d) => d.id)).toEqual(["call_one"])
      expect(chatRequests(two)).toBe(0)
    }).pipe(Effect.scoped))

  it.live("cut before any part: falls back, and the caller sees only the second model's whole call", () =>
    Effect.gen(function*() {
      const { one, two, router } = yield* setup
      one.enqueueFault({ kind: "cutAfter", chunks: 0 })
      const { chunks, exit } = yield* drain(router.stream({ prompt: "Weather in Rome?", tools: [weather] }))
      expect(exit._tag).toBe("Success")
      const parts = new StreamedParts()
      for (const c of chunks) parts.add(c)
      expect(parts.parts("")).toEqual([
        { type: "tool-call", id: "call_two", name: "get_weather", params: { city: "Rome", unit: "celsius", detail: "hourly" } }
      ])
      expect(chunks.at(-1)?.finishReason).toBe("tool_calls")
      expect(chunks[0].attempts?.map((a) => [a.model, a.outcome])).toEqual([["one/gpt-4o-mini", "NetworkError"], ["two/gpt-4o-mini", "ok"]])
      expect([chatRequests(one), chatRequests(two)]).toEqual([1, 1])
    }).pipe(Effect.scoped))
})
