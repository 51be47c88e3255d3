/**
 * The fake Ollama's tools, images and thinking, driven by the real `ollama` SDK: tool calls
 * with object arguments in JSON and in the NDJSON stream, images the SDK base64-encodes,
 * `think` with a separate `thinking` field, and Ollama's 400s for what a model cannot take.
 */
import { Ollama } from "ollama"
import { afterEach, describe, expect, it } from "vitest"
import { type FakeOllama, type FakeOllamaOptions, startFakeOllama } from "../src/FakeOllama.ts"

let fake: FakeOllama | undefined
afterEach(async () => {
  await fake?.close()
  fake = undefined
})

const start = async (options?: FakeOllamaOptions) => {
  fake = await startFakeOllama(options)
  return { fake, client: new Ollama({ host: fake.url }) }
}

const MODEL = "llama3.2:latest"
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current temperature in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

const weatherResponder = (body: { messages: ReadonlyArray<{ role: string; content: string }> }) => {
  const result = body.messages.find((m) => m.role === "tool")
  return result === undefined
    ? { reasoning: "Need the weather tool.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] }
    : { text: `Paris is at ${result.content}.` }
}

describe("FakeOllama tools and thinking", () => {
  it("runs a tool round trip without streaming: tool_calls with object arguments, the tool message, the answer", async () => {
    const { fake, client } = await start()
    fake.respond(weatherResponder)
    const first = await client.chat({ model: MODEL, messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weatherTool], stream: false, think: true })
    expect(first.message.tool_calls).toEqual([{ function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } }])
    expect(first.message.thinking).toBe("Need the weather tool.")
    expect(first.done_reason).toBe("stop")

    const final = await client.chat({
      model: MODEL,
      stream: false,
      tools: [weatherTool],
      messages: [{ role: "user", content: "Weather in Paris?" }, first.message, { role: "tool", tool_name: "get_weather", content: "21 °C" }]
    })
    expect(final.message.content).toBe("Paris is at 21 °C.")
    const sent = fake.chatRequests()
    expect(sent[0]).toMatchObject({ tools: [weatherTool], think: true })
    expect(sent[1]!.messages[1]!.tool_calls).toEqual(first.message.tool_calls)
    expect(sent[1]!.messages[2]).toEqual({ role: "tool", tool_name: "get_weather", content: "21 °C" })
  })

  it("streams thinking word by word, then each tool call whole in its own NDJSON line", async () => {
    const { fake, client } = await start()
    fake.script([{ reasoning: "Two cities, two calls.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }] }])
    const stream = await client.chat({ model: MODEL, messages: [{ role: "user", content: "Paris and Rome?" }], tools: [weatherTool], think: "high", stream: true })
    const thinking: Array<string> = []
    const calls: Array<unknown> = []
    let last: { done: boolean; eval_count: number } | undefined
    for await (const part of stream) {
      if (part.message.thinking) thinking.push(part.message.thinking)
      calls.push(...(part.message.tool_calls ?? []).map((c) => c.function.arguments))
      last = part
    }
    expect(thinking).toEqual(["Two ", "cities, ", "two ", "calls."])
    expect(calls).toEqual([{ city: "Paris" }, { city: "Rome" }])
    expect(last?.done).toBe(true)
    expect(last?.eval_count).toBeGreaterThan(0)
  })

  it("leaves thinking out when the request says think: false", async () => {
    const { fake, client } = await start()
    fake.script([{ reasoning: "hidden", text: "Hi." }])
    const res = await client.chat({ model: MODEL, messages: [{ role: "user", content: "hi" }], think: false, stream: false })
    expect(res.message).toEqual({ role: "assistant", content: "Hi." })
  })

  it("refuses tools and thinking for a model without the capability, as /api/show reports it", async () => {
    const { client } = await start({ capabilities: { "gemma:2b": ["completion"] } })
    expect((await client.show({ model: "gemma:2b" })).capabilities).toEqual(["completion"])
    expect((await client.show({ model: MODEL })).capabilities).toEqual(["completion", "tools", "vision", "thinking"])
    const tools = await client.chat({ model: "gemma:2b", messages: [{ role: "user", content: "hi" }], tools: [weatherTool], stream: false }).catch((e: unknown) => e)
    expect(tools).toMatchObject({ status_code: 400, error: "registry.ollama.ai/library/gemma:2b does not support tools" })
    const think = await client.chat({ model: "gemma:2b", messages: [{ role: "user", content: "hi" }], think: true, stream: false }).catch((e: unknown) => e)
    expect(think).toMatchObject({ status_code: 400, error: "\"gemma:2b\" does not support thinking" })
  })
})

describe("FakeOllama images", () => {
  it("records the images the SDK base64-encodes, and refuses them for a model without vision", async () => {
    const { fake, client } = await start({ capabilities: { "llama3.2:latest": ["completion", "tools"] } })
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const ok = await client.chat({ model: "llava:latest", messages: [{ role: "user", content: "What is this?", images: [png] }], stream: false })
    expect(ok.message.content).toBe("Hello from fake Ollama")
    expect(fake.chatRequests()[0]!.messages[0]!.images).toEqual([Buffer.from(png).toString("base64")])
    const blind = await client.chat({ model: MODEL, messages: [{ role: "user", content: "What is this?", images: [png] }], stream: false }).catch((e: unknown) => e)
    expect(blind).toMatchObject({ status_code: 400, error: "this model is missing data required for image input" })
  })

  it("refuses image data that is not base64, with Go's decoder error", async () => {
    const { client } = await start()
    const err = await client.chat({ model: "llava:latest", messages: [{ role: "user", content: "?", images: ["abc!"] }], stream: false }).catch((e: unknown) => e)
    expect(err).toMatchObject({ status_code: 400, error: "illegal base64 data at input byte 3" })
  })
})
