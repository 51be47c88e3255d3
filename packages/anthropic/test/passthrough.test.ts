/**
 * The Anthropic client's pass-through (internal/passthrough.ts) against FakeAnthropic: the body
 * goes upstream as given but for the model, with the forwarded headers; the answer comes back as
 * sent but for the model; usage (prompt-cache counts included) and finish are read off the way;
 * a stream cut before `message_stop` fails, and an in-band error event is the same typed error.
 */
import { expect, it } from "@effect/vitest"
import type { PassthroughCall } from "@llm-gateway/core/providers/Passthrough"
import { Effect, Stream } from "effect"
import { MODEL, setup } from "./fixtures.ts"

const body = {
  model: "claude-whatever-the-client-named",
  max_tokens: 256,
  system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
  messages: [{ role: "user", content: [{ type: "text", text: "Hello there", cache_control: { type: "ephemeral" } }] }],
  context_management: { edits: [] }
}

const call = (over: Partial<PassthroughCall> = {}): PassthroughCall => ({
  api: "anthropic.messages",
  body,
  headers: { "anthropic-beta": "context-management-2025-06-27" },
  model: MODEL,
  answerModel: `anthropic/${MODEL}`,
  ...over
})

const lastSent = (fake: { requests: ReadonlyArray<{ path: string; body: unknown; headers: Record<string, unknown> }> }) =>
  fake.requests.filter((r) => r.path === "/v1/messages").at(-1)!

it.live("JSON: the body as given but for the model, the beta header, the answer as sent but for the model", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup({ reply: "Hi.", inputTokens: 50, cacheReadInputTokens: 40, outputTokens: 2 })
    const r = yield* client.passthrough!.generate(call())
    const sent = lastSent(fake)
    expect(JSON.stringify(sent.body)).toBe(JSON.stringify({ ...body, model: MODEL }))
    expect(sent.headers["anthropic-beta"]).toBe("context-management-2025-06-27")
    expect(r.native).toMatchObject({ type: "message", model: `anthropic/${MODEL}`, content: [{ type: "text", text: "Hi." }] })
    expect(r.native.usage).toEqual({ input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 40, output_tokens: 2 })
    // the gateway's convention: prompt tokens include the cache reads
    expect(r.usage).toEqual({ promptTokens: 50, completionTokens: 2, totalTokens: 52, cachedPromptTokens: 40 })
    expect(r.finishReason).toBe("stop")
    expect(r.content).toBe("Hi.")
  }))

it.live("SSE: one frame per event (ping aside), the model rewritten in message_start; usage and finish on the last chunk", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup({ reply: "one two three", chunks: 3 })
    const chunks = Array.from(yield* Stream.runCollect(client.passthrough!.stream(call({ body: { ...body, stream: true } }))))
    expect(JSON.stringify(lastSent(fake).body)).toBe(JSON.stringify({ ...body, stream: true, model: MODEL }))
    const names = chunks.map((c) => /^event: (\S+)\n/.exec(c.native!)![1])
    expect(names).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop"
    ])
    expect(chunks[0].native).toContain(`"model":"anthropic/${MODEL}"`)
    expect(chunks.map((c) => c.delta).join("")).toBe("one two three")
    expect(chunks.at(-1)).toMatchObject({ finishReason: "stop", usage: { completionTokens: 4 } })
  }))

it.live("a stream cut before message_stop fails; an in-band error event is the provider's typed error", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup({ reply: "one two three four", chunks: 4 })
    fake.fail({ kind: "truncate", afterChunks: 2 })
    const cut = yield* Effect.flip(Stream.runDrain(client.passthrough!.stream(call())))
    expect(cut._tag).toBe("NetworkError")
    fake.fail({ kind: "streamError", afterChunks: 1, errorType: "overloaded_error", message: "Overloaded" })
    const overloaded = yield* Effect.flip(Stream.runDrain(client.passthrough!.stream(call())))
    expect(overloaded._tag).toBe("ModelUnavailable")
  }))
