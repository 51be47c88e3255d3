/**
 * Rich messages through the real `ollama` SDK against the fake, which answers and refuses as
 * Ollama does (tools / vision / thinking per model from `/api/show`): tools and tool calls in
 * JSON and NDJSON, tool results, images, thinking, and the capability refusals that name the
 * part before anything is sent.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as NodeFs from "node:fs"
import type { ChatMessage, ToolDefinition } from "@llm-gateway/core/domain/Domain"
import { MODEL, request, setup } from "./helpers.ts"

const weather: ToolDefinition = {
  name: "get_weather",
  description: "Current temperature in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const clock: ToolDefinition = { name: "get_time", parameters: { type: "object", properties: {} } }
const png = Buffer.from("fake png bytes").toString("base64")

describe("Ollama tools", () => {
  it.live("sends tools, returns tool calls with minted ids and finish tool_calls, then takes the results back", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.script([
        { reasoning: "Need the tool.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }] },
        "Paris 21, Rome 25."
      ])
      const first = yield* client.generate(request({ tools: [weather, clock], toolChoice: { oneOf: ["get_weather"] }, reasoning: { effort: "high" } }))
      expect(first.finishReason).toBe("tool_calls")
      expect(first.parts).toEqual([
        { type: "reasoning", text: "Need the tool." },
        { type: "tool-call", id: "call_0", name: "get_weather", params: { city: "Paris" } },
        { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Rome" } }
      ])
      const sent = fake.chatRequests()[0]!
      // a subset of the tools is all Ollama can do for a tool choice
      expect(sent.tools).toEqual([{ type: "function", function: { name: "get_weather", description: weather.description, parameters: weather.parameters } }])
      expect(sent.think).toBe("high")

      const history: ReadonlyArray<ChatMessage> = [
        { role: "user", content: "Weather in Paris and Rome?" },
        { role: "assistant", content: first.parts!.map((p) => (p.type === "tool-call" ? { type: "tool-call" as const, id: p.id, name: p.name, params: p.params } : { type: "reasoning" as const, text: p.type === "reasoning" ? p.text : "" })) },
        {
          role: "tool",
          content: [
            { type: "tool-result", id: "call_0", name: "get_weather", isFailure: false, result: "21" },
            { type: "tool-result", id: "call_1", name: "get_weather", isFailure: false, result: { celsius: 25 } }
          ]
        }
      ]
      const final = yield* client.generate(request({ messages: history, tools: [weather] }))
      expect(final.content).toBe("Paris 21, Rome 25.")
      expect(final.finishReason).toBe("stop")
      expect(final.parts).toBeUndefined()
      expect(fake.chatRequests()[1]!.messages).toEqual([
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "",
          thinking: "Need the tool.",
          tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }, { function: { name: "get_weather", arguments: { city: "Rome" } } }]
        },
        { role: "tool", tool_name: "get_weather", content: "21" },
        { role: "tool", tool_name: "get_weather", content: "{\"celsius\":25}" }
      ])
    }))

  it.live("streams thinking, text and each tool call (whole, as Ollama sends it) over NDJSON", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.script([{ reasoning: "Let me see.", text: "Calling.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_time", arguments: {} }] }])
      const chunks = Array.from(yield* Stream.runCollect(client.stream(request({ tools: [weather, clock], reasoning: { budgetTokens: 2000 } }))))
      expect(fake.chatRequests()[0]!.think).toBe(true)
      expect(chunks.flatMap((c) => (c.reasoningDelta ? [c.reasoningDelta] : [])).join("")).toBe("Let me see.")
      expect(chunks.map((c) => c.delta).join("")).toBe("Calling.")
      expect(chunks.flatMap((c) => c.toolCallDeltas ?? [])).toEqual([
        { index: 0, id: "call_0", name: "get_weather", argumentsDelta: "{\"city\":\"Paris\"}" },
        { index: 1, id: "call_1", name: "get_time", argumentsDelta: "{}" }
      ])
      expect(chunks.at(-1)!.finishReason).toBe("tool_calls")
    }))

  it.live("toolChoice none sends no tools; a named tool sends only that one", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      yield* client.generate(request({ tools: [weather, clock], toolChoice: "none" }))
      yield* client.generate(request({ tools: [weather, clock], toolChoice: { tool: "get_time" } }))
      const [none, named] = fake.chatRequests()
      expect(none!.tools).toBeUndefined()
      expect(named!.tools!.map((t) => (t.function as { name: string }).name)).toEqual(["get_time"])
    }))
})

describe("Ollama images", () => {
  it.live("sends base64 and data: URL images as Ollama's base64 images", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      yield* client.generate(request({
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "What is in " },
            { type: "file", mediaType: "image/png", data: png },
            { type: "text", text: "these?" },
            { type: "file", mediaType: "image/png", data: { _tag: "URL", href: `data:image/png;base64,${png}` } }
          ]
        }]
      }))
      expect(fake.chatRequests()[0]!.messages).toEqual([{ role: "user", content: "What is in these?", images: [png, png] }])
    }))

  it.live("refuses URL images, non-base64 data (never read as a file path) and PDFs, naming the part; nothing is sent", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const refused = (content: ChatMessage["content"]) =>
        client.generate(request({ messages: [{ role: "user", content: "first" }, { role: "user", content } as ChatMessage] })).pipe(Effect.flip)
      const url = yield* refused([{ type: "text", text: "see" }, { type: "file", mediaType: "image/jpeg", data: { _tag: "URL", href: "https://example.com/cat.jpg" } }])
      expect(url).toMatchObject({ _tag: "InvalidRequest", param: "messages[1].content[1]" })
      expect(url.message).toContain("messages[1].content[1]: image URLs are not supported by local/llama3.2:latest")
      const notBase64 = yield* refused([{ type: "file", mediaType: "image/png", data: "not base64!" }])
      expect(notBase64).toMatchObject({ _tag: "InvalidRequest", param: "messages[1].content[0]", message: "messages[1].content[0]: image data is not valid base64" })
      const pdf = yield* refused([{ type: "file", mediaType: "application/pdf", data: png }])
      expect(pdf.message).toContain("application/pdf input is not supported")
      expect(fake.chatRequests()).toHaveLength(0)
    }))
})

describe("Ollama image data is never a file path", () => {
  it.live("image data that names a file on the gateway's disk is sent as the caller's bytes, not the file", () =>
    Effect.gen(function*() {
      // all base64 characters, a multiple of 4 long: valid base64, and an existing path
      const path = "/tmp/gwimage0001"
      NodeFs.writeFileSync(path, "gateway secret")
      yield* Effect.addFinalizer(() => Effect.sync(() => NodeFs.rmSync(path, { force: true })))
      const { client, fake } = yield* setup()
      yield* client.generate(request({ messages: [{ role: "user", content: [{ type: "file", mediaType: "image/png", data: path }] }] }))
      // the SDK reads a string image that names an existing file; the gateway sends bytes instead
      expect(fake.chatRequests()[0]!.messages[0]!.images).toEqual([path])
      expect(JSON.stringify(fake.chatRequests())).not.toContain(Buffer.from("gateway secret").toString("base64"))
    }))
})

describe("Ollama capabilities from /api/show", () => {
  it.live("a model without tools, vision or thinking gets an InvalidRequest naming the field or part, and no chat request", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ capabilities: { "llama3.2": ["completion"] } })
      const tools = yield* client.generate(request({ tools: [weather] })).pipe(Effect.flip)
      expect(tools).toMatchObject({ _tag: "InvalidRequest", param: "tools", model: `local/${MODEL}` })
      expect(tools.message).toContain("tools are not supported by local/llama3.2:latest (its capabilities: completion)")
      const image = yield* client.generate(request({
        messages: [{ role: "user", content: [{ type: "text", text: "look" }, { type: "file", mediaType: "image/png", data: png }] }]
      })).pipe(Effect.flip)
      expect(image).toMatchObject({ _tag: "InvalidRequest", param: "messages[0].content[1]" })
      const think = yield* Stream.runCollect(client.stream(request({ reasoning: { effort: "low" } }))).pipe(Effect.flip)
      expect(think).toMatchObject({ _tag: "InvalidRequest", param: "reasoning" })
      expect(fake.chatRequests()).toHaveLength(0)
      // one /api/show per model, remembered
      expect(fake.server.requests.filter((r) => r.path === "/api/show")).toHaveLength(1)
      // a plain text request never asks
      yield* client.generate(request())
      expect(fake.chatRequests()).toHaveLength(1)
    }))

  it.live("a model the fake reports as capable takes all three", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ capabilities: { "llama3.2": ["completion", "tools", "vision", "thinking"] } })
      const res = yield* client.generate(request({
        tools: [weather],
        reasoning: { effort: "medium" },
        messages: [{ role: "user", content: [{ type: "text", text: "look" }, { type: "file", mediaType: "image/png", data: png }] }]
      }))
      expect(res.finishReason).toBe("stop")
      expect(fake.chatRequests()[0]).toMatchObject({ think: "medium", messages: [{ role: "user", content: "look", images: [png] }] })
    }))
})
