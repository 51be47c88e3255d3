/**
 * The fake Anthropic Messages API's tools, images, documents, thinking and prompt caching,
 * driven by the real `@anthropic-ai/sdk`: its stream accumulator rebuilds tool input from
 * `input_json_delta` and thinking from `thinking_delta` + `signature_delta`, and the rules the
 * real API enforces on tool pairing and thinking signatures come back as its real 400s.
 */
import Anthropic from "@anthropic-ai/sdk"
import { afterEach, describe, expect, it } from "vitest"
import { type FakeAnthropic, type FakeAnthropicOptions, startFakeAnthropic } from "../src/FakeAnthropic.ts"

let fake: FakeAnthropic | undefined
afterEach(async () => {
  await fake?.close()
  fake = undefined
})

const start = async (options?: FakeAnthropicOptions) => {
  fake = await startFakeAnthropic(options)
  return { fake, client: new Anthropic({ baseURL: fake.url, apiKey: "sk-ant-test", maxRetries: 0 }) }
}

const MODEL = "claude-fake-1" // a model id the SDK has no deprecation warning for
const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "Current temperature in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const ask: Anthropic.MessageParam = { role: "user", content: "Weather in Paris?" }

/** Calls get_weather first; answers with the tool result's text once it is there. */
const weatherResponder = (body: { messages: ReadonlyArray<{ content: unknown }> }) => {
  const blocks = body.messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<{ type: string; content?: unknown }>) : []))
  const result = blocks.find((b) => b.type === "tool_result")
  return result === undefined
    ? { reasoning: "The user wants the weather; call the tool.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] }
    : { text: `Paris: ${String(result.content)}.` }
}

const badRequest = (e: unknown) => {
  expect(e).toBeInstanceOf(Anthropic.BadRequestError)
  const err = e as InstanceType<typeof Anthropic.BadRequestError>
  return { status: err.status, type: (err.error as { error: { type: string } }).error.type, message: (err.error as { error: { message: string } }).error.message }
}

describe("FakeAnthropic tools", () => {
  it("runs a tool round trip in JSON: tool_use, the tool_result turn, the final answer", async () => {
    const { fake, client } = await start()
    fake.respond(weatherResponder)
    const first = await client.messages.create({ model: MODEL, max_tokens: 512, messages: [ask], tools: [weatherTool], tool_choice: { type: "auto" } })
    expect(first.stop_reason).toBe("tool_use")
    const use = first.content.find((b) => b.type === "tool_use")!
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } })
    expect(use.id).toMatch(/^toolu_/)

    const final = await client.messages.create({
      model: MODEL,
      max_tokens: 512,
      tools: [weatherTool],
      messages: [ask, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "21 °C" }] }]
    })
    expect(final.content).toEqual([{ type: "text", text: "Paris: 21 °C." }])
    expect(final.stop_reason).toBe("end_turn")
    const sent = fake.messageBodies()
    expect(sent[0]).toMatchObject({ tools: [weatherTool], tool_choice: { type: "auto" } })
    expect(sent[1]!.messages[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "21 °C" }] })
  })

  it("streams tool_use as content_block_start then input_json_delta fragments the SDK reassembles", async () => {
    const { fake, client } = await start()
    fake.script([{ text: "Checking.", toolCalls: [{ name: "get_weather", arguments: { city: "Paris", unit: "celsius" } }] }])
    const stream = client.messages.stream({ model: MODEL, max_tokens: 512, messages: [ask], tools: [weatherTool] })
    const partial: Array<string> = []
    const starts: Array<string> = []
    for await (const event of stream) {
      if (event.type === "content_block_start") starts.push(event.content_block.type)
      if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") partial.push(event.delta.partial_json)
    }
    const message = await stream.finalMessage()
    expect(starts).toEqual(["text", "tool_use"])
    expect(partial.length).toBeGreaterThan(2)
    expect(message.content[1]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris", unit: "celsius" } })
    expect(message.stop_reason).toBe("tool_use")
  })

  it("ends a stream with an error event in the middle of a tool call's input", async () => {
    const { fake, client } = await start()
    fake.script([{ toolCalls: [{ name: "get_weather", arguments: { city: "Paris", unit: "celsius" } }] }])
    fake.fail({ kind: "streamError", afterChunks: 2 })
    const partial: Array<string> = []
    const stream = client.messages.stream({ model: MODEL, max_tokens: 512, messages: [ask], tools: [weatherTool] })
    const outcome = await (async () => {
      for await (const event of stream) {
        if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") partial.push(event.delta.partial_json)
      }
    })().then(() => "completed", (e: unknown) => e)
    expect(partial).toEqual(["{\"city\":", "\"Paris\","])
    expect(outcome).toBeInstanceOf(Anthropic.APIError)
    expect((outcome as InstanceType<typeof Anthropic.APIError>).message).toContain("overloaded_error")
  })

  it("makes parallel calls, and one when disable_parallel_tool_use is set", async () => {
    const { fake, client } = await start()
    const two = { toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }] }
    fake.script([two, two])
    const uses = (m: Anthropic.Message) => m.content.filter((b) => b.type === "tool_use")
    const parallel = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [ask], tools: [weatherTool] })
    expect(uses(parallel).map((b) => b.input)).toEqual([{ city: "Paris" }, { city: "Rome" }])
    const single = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      messages: [ask],
      tools: [weatherTool],
      tool_choice: { type: "any", disable_parallel_tool_use: true }
    })
    expect(uses(single)).toHaveLength(1)
  })

  it("refuses tool_result blocks that do not immediately follow the tool_use turn", async () => {
    const { client } = await start()
    const toolTurn: Anthropic.MessageParam = { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] }
    const split = await client.messages
      .create({
        model: MODEL,
        max_tokens: 256,
        tools: [weatherTool],
        messages: [ask, toolTurn, { role: "user", content: "here it comes" }, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "21" }] }]
      })
      .catch((e: unknown) => e)
    expect(badRequest(split)).toEqual({
      status: 400,
      type: "invalid_request_error",
      message: "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    })
    const stray = await client.messages
      .create({ model: MODEL, max_tokens: 256, messages: [ask, { role: "assistant", content: "ok" }, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "x" }] }] })
      .catch((e: unknown) => e)
    expect(badRequest(stray).message).toContain("messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9")
  })

  it("refuses a tool without input_schema", async () => {
    const { client } = await start()
    const err = await client.messages
      .create({ model: MODEL, max_tokens: 64, messages: [ask], tools: [{ name: "f" } as unknown as Anthropic.Tool] })
      .catch((e: unknown) => e)
    expect(badRequest(err).message).toBe("tools.0.custom.input_schema: Field required")
  })
})

describe("FakeAnthropic thinking", () => {
  const thinking = { type: "enabled" as const, budget_tokens: 1024 }

  it("streams thinking_delta and signature_delta; the signed block passed back byte for byte is accepted", async () => {
    const { fake, client } = await start()
    fake.respond(weatherResponder)
    const stream = client.messages.stream({ model: MODEL, max_tokens: 2048, thinking, messages: [ask], tools: [weatherTool] })
    let thought = ""
    let signature: string | undefined
    stream.on("thinking", (delta) => void (thought += delta))
    stream.on("signature", (s) => void (signature = s))
    const first = await stream.finalMessage()
    expect(thought).toBe("The user wants the weather; call the tool.")
    expect(first.content[0]).toEqual({ type: "thinking", thinking: thought, signature })
    expect(signature).toMatch(/^[A-Za-z0-9+/=]{16,}$/)
    const use = first.content.find((b) => b.type === "tool_use")!

    const result: Anthropic.MessageParam = { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "19 °C" }] }
    const final = await client.messages.create({ model: MODEL, max_tokens: 2048, thinking, tools: [weatherTool], messages: [ask, { role: "assistant", content: first.content }, result] })
    expect(final.content).toEqual([{ type: "text", text: "Paris: 19 °C." }])

    // the same turn with the thinking text altered, or with the thinking block dropped
    const altered = first.content.map((b) => (b.type === "thinking" ? { ...b, thinking: `${b.thinking} ` } : b))
    const tampered = await client.messages
      .create({ model: MODEL, max_tokens: 2048, thinking, tools: [weatherTool], messages: [ask, { role: "assistant", content: altered }, result] })
      .catch((e: unknown) => e)
    expect(badRequest(tampered).message).toBe("messages.1.content.0: Invalid `signature` in `thinking` block")
    const dropped = await client.messages
      .create({ model: MODEL, max_tokens: 2048, thinking, tools: [weatherTool], messages: [ask, { role: "assistant", content: [use] }, result] })
      .catch((e: unknown) => e)
    expect(badRequest(dropped).message).toContain("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`")
  })

  it("sends redacted_thinking opaque and takes its data back unchanged", async () => {
    const { fake, client } = await start()
    fake.script([{ redactedThinking: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT", text: "Done." }, { text: "Again." }])
    const first = await client.messages.create({ model: MODEL, max_tokens: 2048, thinking, messages: [ask] })
    expect(first.content).toEqual([{ type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT" }, { type: "text", text: "Done." }])
    const next = await client.messages.create({
      model: MODEL,
      max_tokens: 2048,
      thinking,
      messages: [ask, { role: "assistant", content: first.content }, { role: "user", content: "again" }]
    })
    expect(next.content).toEqual([{ type: "text", text: "Again." }])
  })

  it("refuses a budget at or above max_tokens, and forced tool use with thinking", async () => {
    const { client } = await start()
    const budget = await client.messages.create({ model: MODEL, max_tokens: 1024, thinking, messages: [ask] }).catch((e: unknown) => e)
    expect(badRequest(budget).message).toContain("`max_tokens` must be greater than `thinking.budget_tokens`")
    const forced = await client.messages
      .create({ model: MODEL, max_tokens: 2048, thinking, messages: [ask], tools: [weatherTool], tool_choice: { type: "any" } })
      .catch((e: unknown) => e)
    expect(badRequest(forced).message).toBe("Thinking may not be enabled when tool_choice forces tool use.")
  })
})

describe("FakeAnthropic images, documents and prompt caching", () => {
  it("accepts and records image and document blocks (base64 and URL)", async () => {
    const { fake, client } = await start()
    const content: Array<Anthropic.ContentBlockParam> = [
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" }, cache_control: { type: "ephemeral" } },
      { type: "text", text: "Describe them." }
    ]
    const res = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content }] })
    expect(res.content).toEqual([{ type: "text", text: "Hello from fake Claude." }])
    expect(fake.messageBodies()[0]!.messages).toEqual([{ role: "user", content }])
    const bad = await client.messages
      .create({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/bmp" as "image/png", data: "Qk0=" } }] }] })
      .catch((e: unknown) => e)
    expect(badRequest(bad).message).toBe("messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")
  })

  it("writes a cache_control prefix on first sight and reads it on the next request", async () => {
    const { client } = await start({ promptCache: true })
    const system: Array<Anthropic.TextBlockParam> = [{ type: "text", text: "You are a meticulous weather assistant. ".repeat(10), cache_control: { type: "ephemeral" } }]
    const send = (question: string) => client.messages.create({ model: MODEL, max_tokens: 256, system, messages: [{ role: "user", content: question }] })
    const first = (await send("Paris?")).usage
    const second = (await send("Rome, and Milan?")).usage
    const prefix = Math.ceil(system[0]!.text.length / 4)
    expect([first.cache_creation_input_tokens, first.cache_read_input_tokens]).toEqual([prefix, 0])
    expect([second.cache_creation_input_tokens, second.cache_read_input_tokens]).toEqual([0, prefix])
    // input_tokens excludes both, as the real API reports it
    expect(second.input_tokens).toBe(Math.ceil((system[0]!.text + "Rome, and Milan?").length / 4) - prefix)
  })
})
