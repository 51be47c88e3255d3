/**
 * The OpenAI client's Responses pass-through (internal/responsesPassthrough.ts) against
 * FakeOpenAI's `/v1/responses`: the body reaches the upstream unchanged but for the model, the
 * answer comes back as sent but for the model, usage and finish are read off it, and an upstream
 * error is the same typed LLMError as on chat completions. Only `type: "openai"` offers it.
 */
import { expect, it } from "@effect/vitest"
import type { PassthroughCall } from "@llm-gateway/core/providers/Passthrough"
import { Effect, Stream } from "effect"
import { setup } from "./fixtures.ts"

const body = {
  model: "whatever-the-client-named",
  instructions: "Be brief.",
  input: [{ role: "user", content: [{ type: "input_text", text: "Say hi to the team" }] }],
  tools: [{ type: "web_search" }],
  include: ["reasoning.encrypted_content"],
  reasoning: { effort: "low", summary: "auto" },
  store: false,
  prompt_cache_key: "pc-1"
}

const call = (extra: Partial<PassthroughCall> = {}): PassthroughCall => ({
  api: "openai.responses",
  body,
  headers: { "openai-beta": "responses=v1" },
  model: "gpt-4o-mini",
  answerModel: "oai/gpt-4o-mini",
  ...extra
})

it.live("JSON: the body goes upstream as sent but for the model; the Response comes back with the gateway's model name", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup({ fake: { reply: "Hi team, all good." } })
    fake.setResponsesUsage({ cachedTokens: 3 })
    const r = yield* client.passthrough!.generate(call())
    const sent = fake.responsesRequests().at(-1)!
    expect(JSON.stringify(sent.body)).toBe(JSON.stringify({ ...body, model: "gpt-4o-mini" }))
    expect(sent.headers["openai-beta"]).toBe("responses=v1")
    expect(r.native).toMatchObject({ object: "response", status: "completed", model: "oai/gpt-4o-mini" })
    expect(r.content).toBe("Hi team, all good.")
    expect(r.finishReason).toBe("stop")
    // "Be brief. Say hi to the team": 7 words in; 4 out, 3 of the 7 read from the prompt cache
    expect(r.usage).toEqual({ promptTokens: 7, completionTokens: 4, totalTokens: 11, cachedPromptTokens: 3 })
  }))

it.live("SSE: each upstream event is one frame with its sequence_number; the closing chunk carries usage and finish", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup({ fake: { reply: "one two three" } })
    fake.responsesScript.script([{ toolCalls: [{ id: "call_1", name: "lookup", arguments: { q: "x" } }] }])
    const chunks = Array.from(yield* Stream.runCollect(client.passthrough!.stream(call())))
    expect(JSON.stringify(fake.responsesRequests().at(-1)!.body)).toBe(JSON.stringify({ ...body, model: "gpt-4o-mini", stream: true }))
    const frames = chunks.map((c) => c.native!)
    const types = frames.map((f) => /^event: (\S+)\n/.exec(f)![1])
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed"
    ])
    const datas = frames.map((f) => JSON.parse(f.slice(f.indexOf("data: ") + 6)))
    expect(datas.map((d) => d.sequence_number)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(datas[0].response.model).toBe("oai/gpt-4o-mini")
    expect(datas.at(-1).response.output[0]).toMatchObject({ type: "function_call", call_id: "call_1", name: "lookup" })
    const last = chunks.at(-1)!
    expect(last.finishReason).toBe("tool_calls")
    expect(last.usage?.promptTokens).toBe(7)
  }))

it.live("an upstream 429 is RateLimitExceeded with its retry-after, as on chat completions", () =>
  Effect.gen(function*() {
    const { client, fake } = yield* setup()
    fake.enqueueFault({ kind: "status", status: 429, headers: { "retry-after": "2" } })
    const error = yield* Effect.flip(client.passthrough!.generate(call()))
    expect(error._tag).toBe("RateLimitExceeded")
    expect((error as { retryAfter: number }).retryAfter).toBe(2000)
  }))

it.live("compatible servers and Azure do not offer it: they get the translated request", () =>
  Effect.gen(function*() {
    const { client } = yield* setup({ config: { type: "openai-compatible" } })
    expect(client.passthrough).toBeUndefined()
  }))
