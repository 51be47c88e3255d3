/**
 * Tools and files on the embedded model (the real stories260K, one thread). A 260K-parameter
 * story model cannot choose tools sensibly, so only the shape is asserted: a forced call is
 * grammar-valid — the declared name, arguments that match the schema — streamed as it is
 * sampled, and the round trip takes the results back. Files are refused naming the part.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ProviderRequest, ToolDefinition } from "@llm-gateway/core/domain/Domain"
import { request, setup } from "./fixtures.ts"

const weather: ToolDefinition = {
  name: "get_weather",
  description: "Current weather in a city",
  parameters: {
    type: "object",
    // bounded, so the story model cannot ramble inside the string past maxTokens
    properties: { city: { type: "string", maxLength: 16 }, unit: { enum: ["celsius", "fahrenheit"] } },
    required: ["city", "unit"]
  }
}
const clock: ToolDefinition = { name: "get_time", parameters: { type: "object", properties: { zone: { enum: ["utc", "local"] } } } }
const ask = (extra: Partial<ProviderRequest> = {}) =>
  request({ messages: [{ role: "user", content: "What is the weather in Paris?" }], maxTokens: 60, ...extra })

/** A grammar-valid get_weather call: exactly the declared keys, a string city, an allowed unit. */
const expectWeatherArgs = (params: unknown) => {
  const args = params as { city: unknown; unit: unknown }
  expect(Object.keys(args).sort()).toEqual(["city", "unit"])
  expect(typeof args.city).toBe("string")
  expect((args.city as string).length).toBeLessThanOrEqual(16)
  expect(["celsius", "fahrenheit"]).toContain(args.unit)
}

describe("llama.cpp tool calls", () => {
  it.live("a required tool choice yields a grammar-valid call with the declared name and arguments", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const res = yield* client.generate(ask({ tools: [weather], toolChoice: "required" }))
      expect(res.finishReason).toBe("tool_calls")
      const calls = (res.parts ?? []).filter((p) => p.type === "tool-call")
      expect(calls.length).toBeGreaterThanOrEqual(1)
      expect(calls[0]).toMatchObject({ type: "tool-call", id: "call_0", name: "get_weather" })
      expectWeatherArgs(calls[0]!.type === "tool-call" && calls[0]!.params)
      expect(res.usage.promptTokens).toBeGreaterThan(0)
      expect(res.usage.completionTokens).toBeGreaterThan(0)
    }), 60_000)

  it.live("a named tool is the one called; arguments stream as fragments that parse to the call's params", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const chunks = Array.from(yield* Stream.runCollect(client.stream(ask({ tools: [weather, clock], toolChoice: { tool: "get_time" } }))))
      const deltas = chunks.flatMap((c) => c.toolCallDeltas ?? []).filter((d) => d.index === 0)
      expect(deltas[0]).toMatchObject({ index: 0, id: "call_0", name: "get_time" })
      const fragments = deltas.flatMap((d) => (d.argumentsDelta !== undefined ? [d.argumentsDelta] : []))
      expect(fragments.length).toBeGreaterThan(1)
      const args = JSON.parse(fragments.join("")) as Record<string, unknown>
      for (const [key, value] of Object.entries(args)) {
        expect(key).toBe("zone")
        expect(["utc", "local"]).toContain(value)
      }
      expect(chunks.at(-1)!.finishReason).toBe("tool_calls")
    }), 60_000)

  it.live("takes the call and its result back on the next turn: both are in the prompt the model reads", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const turn = (result: unknown) =>
        client.generate(request({
          maxTokens: 4,
          tools: [weather],
          messages: [
            { role: "user", content: "What is the weather in Paris?" },
            { role: "assistant", content: [{ type: "tool-call", id: "call_0", name: "get_weather", params: { city: "Paris", unit: "celsius" } }] },
            { role: "tool", content: [{ type: "tool-result", id: "call_0", name: "get_weather", isFailure: false, result }] }
          ]
        }))
      const bare = yield* client.generate(request({ maxTokens: 4, tools: [weather], messages: [{ role: "user", content: "What is the weather in Paris?" }] }))
      const short = yield* turn({ temperature: 21 })
      const long = yield* turn({ temperature: 21, sky: "clear with a light breeze from the west all afternoon" })
      expect(short.usage.promptTokens).toBeGreaterThan(bare.usage.promptTokens)
      expect(long.usage.promptTokens).toBeGreaterThan(short.usage.promptTokens)
    }), 60_000)
})

describe("llama.cpp files", () => {
  it.live("an image part is an InvalidRequest naming the part, before the model is asked", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const error = yield* client.generate(request({
        messages: [
          { role: "system", content: "You describe images." },
          { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "file", mediaType: "image/png", data: "iVBORw0KGgo=" }] }
        ]
      })).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "InvalidRequest", param: "messages[1].content[1]" })
      expect(error.message).toBe("messages[1].content[1]: image input is not supported by local/stories260K (llama.cpp runs a text-only model)")
      const streamed = yield* Stream.runCollect(client.stream(request({
        messages: [{ role: "user", content: [{ type: "file", mediaType: "audio/wav", data: "UklGRg==" }] }]
      }))).pipe(Effect.flip)
      expect(streamed).toMatchObject({ _tag: "InvalidRequest", param: "messages[0].content[0]" })
    }))
})
