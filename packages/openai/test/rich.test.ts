/**
 * Rich messages on OpenAI's wire (issue 13, notes/rich-messages.md §3), on both transports,
 * against FakeOpenAI (which refuses what OpenAI refuses: a tool message without its call, a bad
 * image_url, tool_choice without tools): tools and tool choice go out in OpenAI's shapes, tool
 * calls and reasoning come back as parts, streamed argument fragments arrive as fragments.
 */
import { expect, it } from "@effect/vitest"
import type { ChatMessage, ProviderRequest, StreamChunk } from "@llm-gateway/core/domain/Domain"
import { Effect, Stream } from "effect"
import { eachTransport } from "./fixtures.ts"

const weather = {
  name: "get_weather",
  description: "Current weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: true
}
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex").toString("base64")

const req = (messages: ReadonlyArray<ChatMessage>, more: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: "gpt-4o-mini",
  messages,
  ...more
})

eachTransport("rich messages", (t) => {
  it.live("tools, tool_choice, parallel_tool_calls and reasoning_effort go out in OpenAI's shapes", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.script([{ toolCalls: [{ id: "call_w", name: "get_weather", arguments: { city: "Paris" } }] }])
      const r = yield* client.generate(req([{ role: "user", content: "Weather in Paris?" }], {
        tools: [weather],
        toolChoice: { tool: "get_weather" },
        parallelToolCalls: false,
        reasoning: { effort: "low" }
      }))
      expect(fake.lastBody()).toMatchObject({
        tools: [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters: weather.parameters, strict: true } }],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        parallel_tool_calls: false,
        reasoning_effort: "low"
      })
      expect(r.finishReason).toBe("tool_calls")
      expect(r.parts).toEqual([{ type: "tool-call", id: "call_w", name: "get_weather", params: { city: "Paris" } }])
    }))

  it.live("a tool round trip: assistant tool_calls and the tool message are accepted upstream", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.respond((body) => {
        const last = (body as unknown as { messages: Array<{ role: string; content: string }> }).messages.at(-1)!
        return last.role === "tool" ? `It is ${JSON.parse(last.content).c} °C.` : undefined
      })
      const r = yield* client.generate(req([
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [{ type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Paris" } }] },
        { role: "tool", content: [{ type: "tool-result", id: "call_1", name: "get_weather", isFailure: false, result: { c: 21 } }] }
      ], { tools: [weather] }))
      expect(r.content).toBe("It is 21 °C.")
      const sent = fake.lastBody()?.messages as Array<Record<string, unknown>>
      expect(sent[1]).toEqual({
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }]
      })
      expect(sent[2]).toEqual({ role: "tool", tool_call_id: "call_1", content: "{\"c\":21}" })
    }))

  it.live("image, audio and file parts become image_url, input_audio and file", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      yield* client.generate(req([{
        role: "user",
        content: [
          { type: "text", text: "Describe" },
          { type: "file", mediaType: "image/png", data: PNG, options: { openai: { imageDetail: "low" } } },
          { type: "file", mediaType: "image/jpeg", data: { _tag: "URL", href: "https://example.com/cat.jpg" } },
          { type: "file", mediaType: "audio/wav", data: "UklGRg==" },
          { type: "file", mediaType: "application/pdf", fileName: "a.pdf", data: "JVBERi0=" }
        ]
      }]))
      expect((fake.lastBody()?.messages as Array<{ content: unknown }>)[0].content).toEqual([
        { type: "text", text: "Describe" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}`, detail: "low" } },
        { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
        { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
        { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } }
      ])
    }))

  it.live("audio by URL is an InvalidRequest naming the part, never sent", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      const before = fake.requests().length
      const e = yield* Effect.flip(client.generate(req([{
        role: "user",
        content: [{ type: "text", text: "hi" }, { type: "file", mediaType: "audio/mpeg", data: { _tag: "URL", href: "https://x/a.mp3" } }]
      }])))
      expect(e._tag).toBe("InvalidRequest")
      expect(e.message).toContain("messages[0].content[1]")
      expect(fake.requests().length).toBe(before)
    }))

  it.live("reasoning_content and reasoning tokens come back", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.script([{ reasoning: "Think first.", text: "42", reasoningTokens: 7 }])
      const r = yield* client.generate(req([{ role: "user", content: "?" }]))
      expect(r.parts).toEqual([{ type: "reasoning", text: "Think first." }, { type: "text", text: "42" }])
      expect(r.usage.reasoningTokens).toBe(7)
    }))

  it.live("streamed tool calls arrive as fragments with index, id and name first", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      const args = { city: "Paris", unit: "celsius", detail: "a fairly long argument string to split" }
      fake.script([{
        toolCalls: [{ id: "call_a", name: "get_weather", arguments: args }, { id: "call_b", name: "get_weather", arguments: { city: "Oslo" } }]
      }])
      const chunks = yield* Stream.runCollect(client.stream(req([{ role: "user", content: "two cities" }], { tools: [weather] })))
      const deltas = chunks.flatMap((c: StreamChunk) => c.toolCallDeltas ?? [])
      // more than one fragment per call: forwarded as they came, not buffered whole
      expect(deltas.filter((d) => d.index === 0).length).toBeGreaterThan(1)
      expect(deltas.find((d) => d.index === 0)).toMatchObject({ id: "call_a", name: "get_weather" })
      expect(deltas.find((d) => d.index === 1)).toMatchObject({ id: "call_b", name: "get_weather" })
      const joined = (i: number) => deltas.filter((d) => d.index === i).map((d) => d.argumentsDelta ?? "").join("")
      expect(JSON.parse(joined(0))).toEqual(args)
      expect(JSON.parse(joined(1))).toEqual({ city: "Oslo" })
      expect(chunks.at(-1)?.finishReason).toBe("tool_calls")
    }))

  it.live("streamed reasoning arrives as reasoning deltas", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.script([{ reasoning: "Let me think about it.", text: "Done." }])
      const chunks = yield* Stream.runCollect(client.stream(req([{ role: "user", content: "?" }])))
      expect(chunks.map((c) => c.reasoningDelta ?? "").join("")).toBe("Let me think about it.")
      expect(chunks.map((c) => c.delta).join("")).toBe("Done.")
    }))
})
