/**
 * Rich messages through the real `@anthropic-ai/sdk` against the fake, which enforces the
 * API's rules (tool pairing, thinking signatures byte for byte, block sources): tools and tool
 * choice, tool results grouped into one user turn, images and documents, thinking round trips,
 * reasoning from another family dropped, streamed tool input and thinking, prompt caching.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ChatMessage, ProviderRequest, StreamChunk, ToolDefinition } from "@llm-gateway/core/domain/Domain"
import { fakeSignature } from "@llm-gateway/testing/FakeAnthropic"
import { request, setup } from "./fixtures.ts"

const weather: ToolDefinition = {
  name: "get_weather",
  description: "Current temperature in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const ask: ChatMessage = { role: "user", content: "Weather in Paris and Rome?" }

type Body = { messages: ReadonlyArray<{ role: string; content: unknown }> }
const blocks = (body: Body) => body.messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : []))

/** Calls get_weather twice (with thinking when asked), then answers from the tool results. */
const weatherResponder = (body: Body) => {
  const results = blocks(body).filter((b) => b.type === "tool_result")
  return results.length === 0
    ? {
      reasoning: "Two cities: call the tool twice.",
      toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }]
    }
    : { text: results.map((r) => String(r.content)).join(" / ") }
}

const collect = (s: Stream.Stream<StreamChunk, unknown>) => Stream.runCollect(s).pipe(Effect.map((c) => Array.from(c)))

describe("Anthropic tools", () => {
  it.live("round trip: tools with input_schema, tool_use parts, results grouped first in one user turn", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      fake.respond(weatherResponder)
      const first = yield* client.generate(request({ messages: [ask], tools: [weather], toolChoice: "auto" }))
      expect(first.finishReason).toBe("tool_calls")
      const calls = (first.parts ?? []).filter((p) => p.type === "tool-call")
      expect(calls.map((c) => c.type === "tool-call" && c.params)).toEqual([{ city: "Paris" }, { city: "Rome" }])
      const [sent] = fake.messageBodies()
      expect(sent.tools).toEqual([{ name: "get_weather", description: weather.description, input_schema: weather.parameters }])
      expect(sent.tool_choice).toEqual({ type: "auto" })

      // The results arrive as two tool messages and a user remark: one user turn, results first.
      const toolCalls = calls.flatMap((c) => (c.type === "tool-call" ? [c] : []))
      const final = yield* client.generate(request({
        tools: [weather],
        messages: [
          ask,
          { role: "assistant", content: toolCalls.map((c) => ({ type: "tool-call" as const, id: c.id, name: c.name, params: c.params })) },
          { role: "tool", content: [{ type: "tool-result", id: toolCalls[0]!.id, name: "get_weather", isFailure: false, result: "21 °C" }] },
          { role: "tool", content: [{ type: "tool-result", id: toolCalls[1]!.id, name: "get_weather", isFailure: true, result: { error: "no station" } }] },
          { role: "user", content: "Thanks." }
        ]
      }))
      expect(final.content).toBe("21 °C / {\"error\":\"no station\"}")
      expect(final.finishReason).toBe("stop")
      const second = fake.messageBodies()[1]!
      expect(second.messages).toHaveLength(3)
      expect(second.messages[1]).toEqual({
        role: "assistant",
        content: toolCalls.map((c) => ({ type: "tool_use", id: c.id, name: "get_weather", input: c.params }))
      })
      expect(second.messages[2]).toEqual({
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: toolCalls[0]!.id, content: "21 °C" },
          { type: "tool_result", tool_use_id: toolCalls[1]!.id, content: "{\"error\":\"no station\"}", is_error: true },
          { type: "text", text: "Thanks." }
        ]
      })
    }))

  it.live("maps tool choice: required → any, a named tool, none, a subset; parallelToolCalls false", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      const other: ToolDefinition = { name: "get_time", parameters: { type: "object", properties: {} } }
      const tools = [weather, other]
      const forced = yield* client.generate(request({ tools, toolChoice: "required", parallelToolCalls: false }))
      expect(forced.finishReason).toBe("tool_calls")
      yield* client.generate(request({ tools, toolChoice: { tool: "get_time" } }))
      yield* client.generate(request({ tools, toolChoice: "none" }))
      yield* client.generate(request({ tools, toolChoice: { mode: "required", oneOf: ["get_time"] } }))
      const sent = fake.messageBodies()
      expect(sent.map((b) => b.tool_choice)).toEqual([
        { type: "any", disable_parallel_tool_use: true },
        { type: "tool", name: "get_time" },
        { type: "none" },
        { type: "any" }
      ])
      expect(sent[3]!.tools!.map((t) => t.name)).toEqual(["get_time"])
      // tool_choice without tools is the API's 400: nothing is sent without tools
      yield* client.generate(request({ toolChoice: "required" }))
      expect(fake.messageBodies()[4]!.tool_choice).toBeUndefined()
    }))
})

describe("Anthropic images and documents", () => {
  const png = Buffer.from("fake png bytes").toString("base64")
  const pdf = Buffer.from("%PDF-1.4 fake").toString("base64")

  it.live("sends image and document blocks, base64 and URL (data: URLs inlined)", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      yield* client.generate(request({
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "Compare these." },
            { type: "file", mediaType: "image/png", data: png },
            { type: "file", mediaType: "image/jpeg", data: { _tag: "URL", href: "https://example.com/cat.jpg" } },
            { type: "file", mediaType: "image/png", data: { _tag: "URL", href: `data:image/png;base64,${png}` } },
            { type: "file", mediaType: "application/pdf", fileName: "report.pdf", data: pdf },
            { type: "file", mediaType: "application/pdf", data: { _tag: "URL", href: "https://example.com/a.pdf" } }
          ]
        }]
      }))
      expect(fake.messageBodies()[0]!.messages[0]!.content).toEqual([
        { type: "text", text: "Compare these." },
        { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
        { type: "document", source: { type: "base64", media_type: "application/pdf", data: pdf }, title: "report.pdf" },
        { type: "document", source: { type: "url", url: "https://example.com/a.pdf" } }
      ])
    }))

  it.live("refuses an audio part with InvalidRequest naming the part; nothing reaches the upstream", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      const error = yield* client.generate(request({
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello" },
          { role: "user", content: [{ type: "text", text: "Transcribe:" }, { type: "file", mediaType: "audio/wav", data: "UklGRg==" }] }
        ]
      })).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidRequest")
      expect(error).toMatchObject({ param: "messages[2].content[1]", model: "anthropic/claude-3-haiku-20240307" })
      expect(error.message).toContain("messages[2].content[1]: audio input is not supported by anthropic/claude-3-haiku-20240307")
      const streamed = yield* collect(client.stream(request({ messages: [{ role: "user", content: [{ type: "file", mediaType: "audio/mpeg", data: "AAAA" }] }] }))).pipe(Effect.flip)
      expect(streamed).toMatchObject({ _tag: "InvalidRequest", param: "messages[0].content[0]" })
      expect(fake.messageBodies()).toHaveLength(0)
    }))
})

describe("Anthropic thinking", () => {
  const reasoning = { budgetTokens: 1024 }

  it.live("an effort's budget fits the model's output limit: max on a 32k-output model is not a 400", () =>
    Effect.gen(function*() {
      const opus = "claude-opus-4-1"
      const { fake, client } = yield* setup({}, { models: [{ id: opus, contextWindow: 200000, maxOutputTokens: 32000 }] })
      fake.respond(() => ({ reasoning: "Thinking hard.", text: "ok" }))
      yield* client.generate(request({ model: opus, reasoning: { effort: "max" } }))
      yield* client.generate(request({ model: opus, reasoning: { effort: "xhigh" }, maxTokens: 8000 }))
      yield* client.generate(request({ model: opus, reasoning: { effort: "medium" }, maxTokens: 2000 }))
      const [max, xhigh, medium] = fake.messageBodies()
      // max: 32,768 would leave no room under 32,000; the answer keeps 1,024
      expect(max!.max_tokens).toBe(32000)
      expect(max!.thinking).toEqual({ type: "enabled", budget_tokens: 30976 })
      // xhigh's 24,576 + the caller's 8,000 would pass the limit: the total is the limit
      expect(xhigh!.max_tokens).toBe(32000)
      expect(xhigh!.thinking).toEqual({ type: "enabled", budget_tokens: 24576 })
      // within the limit nothing changes: the caller's 2,000 stay the answer's room
      expect(medium!.max_tokens).toBe(6096)
      expect(medium!.thinking).toEqual({ type: "enabled", budget_tokens: 4096 })
    }))

  it.live("returns thinking with its signature, and the signed block goes back byte for byte in the tool loop", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      fake.respond(weatherResponder)
      const first = yield* client.generate(request({ messages: [ask], tools: [weather], reasoning, maxTokens: 512 }))
      const sent = fake.messageBodies()[0]!
      // the caller's 512 stay the answer's room above the 1024 thinking budget
      expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 1024 })
      expect(sent.max_tokens).toBe(1536)
      const thought = "Two cities: call the tool twice."
      expect(first.parts![0]).toEqual({ type: "reasoning", text: thought, metadata: { anthropic: { signature: fakeSignature(thought) } } })
      const calls = first.parts!.flatMap((p) => (p.type === "tool-call" ? [p] : []))

      // The caller sends the parts back (response metadata → prompt options): accepted.
      const assistant: ChatMessage = {
        role: "assistant",
        content: first.parts!.map((p) =>
          p.type === "reasoning"
            ? { type: "reasoning" as const, text: p.text, options: p.metadata }
            : p.type === "tool-call"
            ? { type: "tool-call" as const, id: p.id, name: p.name, params: p.params }
            : { type: "text" as const, text: p.text }
        )
      }
      const results: ChatMessage = {
        role: "tool",
        content: calls.map((c) => ({ type: "tool-result" as const, id: c.id, name: c.name, isFailure: false, result: `${String((c.params as { city: string }).city)} 20` }))
      }
      const final = yield* client.generate(request({ messages: [ask, assistant, results], tools: [weather], reasoning }))
      expect(final.content).toBe("Paris 20 / Rome 20")
      expect(fake.messageBodies()[1]!.messages[1]!.content).toEqual([
        { type: "thinking", thinking: thought, signature: fakeSignature(thought) },
        ...calls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: c.params }))
      ])
    }))

  it.live("passes redacted_thinking back opaque", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      const data = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"
      fake.script([{ redactedThinking: data, text: "Done." }, { text: "Again." }])
      const first = yield* client.generate(request({ reasoning }))
      expect(first.parts).toEqual([{ type: "reasoning", text: "", metadata: { anthropic: { redactedData: data } } }, { type: "text", text: "Done." }])
      const next = yield* client.generate(request({
        reasoning,
        messages: [
          { role: "user", content: "Say hello." },
          { role: "assistant", content: [{ type: "reasoning", text: "", options: { anthropic: { redactedData: data } } }, { type: "text", text: "Done." }] },
          { role: "user", content: "again" }
        ]
      }))
      expect(next.content).toBe("Again.")
      expect(fake.messageBodies()[1]!.messages[1]!.content).toEqual([{ type: "redacted_thinking", data }, { type: "text", text: "Done." }])
    }))

  it.live("drops reasoning from another provider family (not forwarded as text) and leaves thinking off for its tool loop", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ reply: "It is 21 °C." })
      const foreign: ChatMessage = {
        role: "assistant",
        content: [
          { type: "reasoning", text: "OpenAI-side reasoning" },
          { type: "reasoning", text: "signed elsewhere", options: { openai: { encrypted: "xyz" } } },
          { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Paris" } }
        ]
      }
      const res = yield* client.generate(request({
        reasoning,
        tools: [weather],
        messages: [ask, foreign, { role: "tool", content: [{ type: "tool-result", id: "call_1", name: "get_weather", isFailure: false, result: "21 °C" }] }]
      }))
      expect(res.content).toBe("It is 21 °C.")
      const sent = fake.messageBodies()[0]!
      expect(sent.messages[1]).toEqual({ role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }] })
      expect(JSON.stringify(sent)).not.toContain("reasoning")
      // the API would refuse a thinking request whose tool turn has no thinking block
      expect(sent.thinking).toBeUndefined()
    }))
})

describe("Anthropic streaming", () => {
  it.live("forwards input_json_delta fragments as they arrive, with the call's index, id and name first", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      fake.script([{ text: "Checking.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris", unit: "celsius" } }, { name: "get_weather", arguments: { city: "Rome" } }] }])
      const chunks = yield* collect(client.stream(request({ tools: [weather] })))
      const deltas = chunks.flatMap((c) => c.toolCallDeltas ?? [])
      expect(deltas[0]).toEqual({ index: 0, id: expect.stringMatching(/^toolu_/), name: "get_weather" })
      const args0 = deltas.filter((d) => d.index === 0 && d.argumentsDelta !== undefined).map((d) => d.argumentsDelta)
      // one chunk per upstream fragment (the fake sends 8-character pieces): nothing buffered whole
      expect(args0).toEqual(["{\"city\":", "\"Paris\",", "\"unit\":\"", "celsius\"", "}"])
      expect(JSON.parse(deltas.filter((d) => d.index === 1).map((d) => d.argumentsDelta ?? "").join(""))).toEqual({ city: "Rome" })
      expect(chunks.map((c) => c.delta).join("")).toBe("Checking.")
      expect(chunks.at(-1)!.finishReason).toBe("tool_calls")
    }))

  it.live("a tool call's first fragment reaches the caller while the upstream is still sending the rest", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ chunkIntervalMs: 60 })
      fake.script([{ toolCalls: [{ name: "get_weather", arguments: { city: "Paris", unit: "celsius" } }] }])
      const seen: Array<{ at: number; args?: string }> = []
      yield* client.stream(request({ tools: [weather] })).pipe(
        Stream.runForEach((c) => Effect.sync(() => seen.push({ at: performance.now(), args: c.toolCallDeltas?.[0]?.argumentsDelta })))
      )
      const fragments = seen.filter((s) => s.args !== undefined)
      expect(fragments).toHaveLength(5)
      // five fragments 60 ms apart upstream: buffered whole, they would arrive together
      expect(fragments.at(-1)!.at - fragments[0]!.at).toBeGreaterThan(150)
    }))

  it.live("streams thinking deltas and the signature as reasoning metadata", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      const thought = "Let me think about the weather in Paris."
      fake.script([{ reasoning: thought, text: "Sunny." }])
      const chunks = yield* collect(client.stream(request({ reasoning: { effort: "low" } })))
      expect(fake.messageBodies()[0]!.thinking).toEqual({ type: "enabled", budget_tokens: 1024 })
      const pieces = chunks.flatMap((c) => (c.reasoningDelta ? [c.reasoningDelta] : []))
      expect(pieces.length).toBeGreaterThan(1)
      expect(pieces.join("")).toBe(thought)
      expect(chunks.find((c) => c.reasoningMetadata !== undefined)!.reasoningMetadata).toEqual({ anthropic: { signature: fakeSignature(thought) } })
      expect(chunks.map((c) => c.delta).join("")).toBe("Sunny.")
    }))
})

describe("Anthropic prompt caching", () => {
  it.live("passes cache_control on parts through and reports cache writes, then reads", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup({ promptCache: true })
      const long = "Reference manual. ".repeat(40)
      const req: ProviderRequest = request({
        messages: [
          { role: "system", content: "You answer from the manual.", options: { anthropic: { cacheControl: { type: "ephemeral" } } } },
          { role: "user", content: [{ type: "text", text: long, options: { anthropic: { cacheControl: { type: "ephemeral", ttl: "1h" } } } }, { type: "text", text: "Question 1" }] }
        ]
      })
      const first = yield* client.generate(req)
      const second = yield* client.generate(req)
      const sent = fake.messageBodies()[0]!
      expect(sent.system).toEqual([{ type: "text", text: "You answer from the manual.", cache_control: { type: "ephemeral" } }])
      expect(sent.messages[0]!.content).toEqual([
        { type: "text", text: long, cache_control: { type: "ephemeral", ttl: "1h" } },
        { type: "text", text: "Question 1" }
      ])
      expect(first.usage.cacheWriteTokens).toBeGreaterThan(0)
      expect(first.usage.cachedPromptTokens).toBeUndefined()
      expect(second.usage.cachedPromptTokens).toBe(first.usage.cacheWriteTokens)
      expect(second.usage.promptTokens).toBe(first.usage.promptTokens)
    }))
})
