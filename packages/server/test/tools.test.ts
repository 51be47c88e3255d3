/**
 * Issue 13 through the running server with the official `openai` client: tools round trip (call →
 * tool message → final answer), forced tool choice, parallel calls, streamed argument deltas,
 * image parts. FakeOpenAI refuses what OpenAI refuses (a tool message without its call, a bad
 * image_url), so an accepted request is one OpenAI would accept.
 */
import type OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, startFakes, startGateway, unique } from "./support/harness.ts"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const MODEL = "openai/gpt-4o-mini"
const weather: OpenAI.Chat.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

describe("tools through /v1/chat/completions", () => {
  it("a round trip: tool call, tool message, final answer", async () => {
    const client = gw.client()
    fakes.openai.respond((body) => {
      const last = (body as unknown as { messages: Array<{ role: string; content: string }> }).messages.at(-1)!
      return last.role === "tool"
        ? `Paris: ${JSON.parse(last.content).temp} °C`
        : { toolCalls: [{ id: "call_paris", name: "get_weather", arguments: { city: "Paris" } }] }
    })
    const question = { role: "user" as const, content: unique("Weather in Paris?") }
    const first = await client.chat.completions.create({ model: MODEL, messages: [question], tools: [weather] })
    const choice = first.choices[0]
    expect(choice.finish_reason).toBe("tool_calls")
    expect(choice.message.content).toBeNull()
    const call = choice.message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall
    expect(call).toMatchObject({ id: "call_paris", type: "function", function: { name: "get_weather" } })
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" })

    const final = await client.chat.completions.create({
      model: MODEL,
      tools: [weather],
      messages: [question, choice.message, { role: "tool", tool_call_id: call.id, content: JSON.stringify({ temp: 21 }) }]
    })
    expect(final.choices[0].message.content).toBe("Paris: 21 °C")
    expect(final.choices[0].finish_reason).toBe("stop")
    // the upstream got OpenAI's shapes back: the assistant's tool_calls and the tool message
    const sent = fakes.openai.lastBody()?.messages as Array<Record<string, unknown>>
    expect(sent[1]).toMatchObject({ role: "assistant", tool_calls: [{ id: "call_paris", type: "function" }] })
    expect(sent[2]).toEqual({ role: "tool", tool_call_id: "call_paris", content: "{\"temp\":21}" })
    fakes.openai.respond(() => undefined)
  })

  it("a forced tool choice and parallel_tool_calls reach the upstream; parallel calls come back", async () => {
    const client = gw.client()
    fakes.openai.script([{
      toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Oslo" } }, { id: "call_2", name: "get_weather", arguments: { city: "Rome" } }]
    }])
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: unique("Oslo and Rome") }],
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: true
    })
    expect(fakes.openai.lastBody()).toMatchObject({
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: true
    })
    expect(r.choices[0].message.tool_calls?.map((c) => c.id)).toEqual(["call_1", "call_2"])
  })

  it("allowed_tools (OpenAI's published tool_choice) reaches OpenAI as sent, and Anthropic as those tools only", async () => {
    const client = gw.client()
    const time: OpenAI.Chat.ChatCompletionTool = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } }
    const tool_choice: OpenAI.Chat.ChatCompletionAllowedToolChoice = {
      type: "allowed_tools",
      allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "get_weather" } }] }
    }
    fakes.openai.script([{ toolCalls: [{ id: "call_a", name: "get_weather", arguments: { city: "Oslo" } }] }])
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: unique("Oslo?") }], tools: [weather, time], tool_choice })
    expect(r.choices[0].message.tool_calls?.map((c) => c.id)).toEqual(["call_a"])
    expect(fakes.openai.lastBody()?.tool_choice).toEqual(tool_choice)

    fakes.anthropic.script([{ toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] }])
    await client.chat.completions.create({ model: "anthropic/claude-3-haiku-20240307", messages: [{ role: "user", content: unique("Oslo?") }], tools: [weather, time], tool_choice })
    const sent = fakes.anthropic.messageBodies().at(-1)!
    expect(sent.tool_choice).toEqual({ type: "any" })
    expect((sent.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["get_weather"])
  })

  it("a malformed allowed_tools is a 400 naming the field", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: "user", content: "hi" }],
        tools: [weather],
        tool_choice: { type: "allowed_tools", allowed_tools: { mode: "sometimes", tools: [] } }
      })
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("tool_choice.allowed_tools.mode")
  })

  it("streamed tool-call argument deltas arrive as fragments in OpenAI's chunk shape", async () => {
    const client = gw.client()
    const args = { city: "Lisbon", note: "a long enough argument to be cut into several fragments by the fake" }
    fakes.openai.script([{ toolCalls: [{ id: "call_s", name: "get_weather", arguments: args }] }])
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: unique("stream a call") }],
      tools: [weather],
      stream: true
    })
    const fragments: Array<OpenAI.Chat.ChatCompletionChunk.Choice.Delta.ToolCall> = []
    let finish: string | null = null
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        fragments.push(...(c.delta.tool_calls ?? []))
        if (c.finish_reason !== null) finish = c.finish_reason
      }
    }
    expect(fragments.length).toBeGreaterThan(2)
    expect(fragments[0]).toMatchObject({ index: 0, id: "call_s", type: "function", function: { name: "get_weather" } })
    expect(JSON.parse(fragments.map((f) => f.function?.arguments ?? "").join(""))).toEqual(args)
    expect(finish).toBe("tool_calls")
  })

  it("image parts are accepted and reach the upstream as image_url", async () => {
    const client = gw.client()
    const png = `data:image/png;base64,${Buffer.from("89504e470d0a1a0a", "hex").toString("base64")}`
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{
        role: "user",
        content: [
          { type: "text", text: unique("What is this?") },
          { type: "image_url", image_url: { url: png, detail: "low" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }
        ]
      }]
    })
    expect(r.choices[0].message.content).toBe("Hello from the fake upstream.")
    const content = (fakes.openai.lastBody()?.messages as Array<{ content: Array<unknown> }>)[0].content
    expect(content.slice(1)).toEqual([
      { type: "image_url", image_url: { url: png, detail: "low" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }
    ])
  })

  it("an answer that ends in tool calls is cached like any other, JSON and streamed", async () => {
    const client = gw.client()
    const ask = { model: MODEL, messages: [{ role: "user" as const, content: unique("cache a call") }], tools: [weather] }
    fakes.openai.script([{ toolCalls: [{ id: "call_c", name: "get_weather", arguments: { city: "Bern" } }] }])
    const first = await client.chat.completions.create(ask).withResponse()
    const again = await client.chat.completions.create(ask).withResponse()
    expect(first.response.headers.get("x-llm-cache")).toBe("miss")
    expect(again.response.headers.get("x-llm-cache")).toBe("hit")
    expect(again.data.choices[0].finish_reason).toBe("tool_calls")
    expect(again.data.choices[0].message.tool_calls).toEqual(first.data.choices[0].message.tool_calls)

    const streamAsk = { ...ask, messages: [{ role: "user" as const, content: unique("cache a streamed call") }], stream: true as const }
    fakes.openai.script([{ toolCalls: [{ id: "call_d", name: "get_weather", arguments: { city: "Graz" } }] }])
    const collect = async () => {
      const { data, response } = await client.chat.completions.create(streamAsk).withResponse()
      let args = ""
      let finish: string | null = null
      for await (const chunk of data) {
        for (const c of chunk.choices) {
          for (const t of c.delta.tool_calls ?? []) args += t.function?.arguments ?? ""
          if (c.finish_reason !== null) finish = c.finish_reason
        }
      }
      return { cache: response.headers.get("x-llm-cache"), args, finish }
    }
    const s1 = await collect()
    const s2 = await collect()
    expect(s1.cache).toBe("miss")
    expect(s2).toEqual({ cache: "hit", args: s1.args, finish: "tool_calls" })
    expect(JSON.parse(s2.args)).toEqual({ city: "Graz" })
  })
})
