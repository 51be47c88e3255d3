/**
 * Issue 14: Anthropic's Messages API on the gateway, through the official `@anthropic-ai/sdk`
 * client, answered by an OpenAI-wire upstream (FakeOpenAI) and an Anthropic one (FakeAnthropic).
 */
import Anthropic from "@anthropic-ai/sdk"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, onlyProviders, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY = "gw-anthropic-test-key"
let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { apiKeys: [KEY] } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

/** What Claude Code does with `ANTHROPIC_BASE_URL`: the SDK pointed at the gateway's root. */
const client = (apiKey = KEY) => new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0, timeout: 10_000 })

type ApiErr = InstanceType<typeof Anthropic.APIError>

const OPENAI = "openai/gpt-4o-mini"
const CLAUDE = "claude-3-haiku-20240307"
const weather: Anthropic.Messages.Tool = {
  name: "get_weather",
  description: "Current weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}

describe("POST /v1/messages (JSON)", () => {
  it("answers a text request from an OpenAI-wire upstream in Anthropic's Message shape", async () => {
    const prompt = unique("Say hello")
    const msg = await client().messages.create({
      model: OPENAI,
      max_tokens: 64,
      system: "Be brief.",
      // SDK 1.x no longer types the sampling parameters; the API still takes them
      ...({ temperature: 0.5 } as object),
      stop_sequences: ["END"],
      messages: [{ role: "user", content: prompt }]
    })
    expect(msg).toMatchObject({
      type: "message",
      role: "assistant",
      model: OPENAI,
      content: [{ type: "text", text: "Hello from the fake upstream." }],
      stop_reason: "end_turn"
    })
    expect(msg.id).toMatch(/^msg_/)
    expect(msg.usage.input_tokens).toBeGreaterThan(0)
    expect(msg.usage.output_tokens).toBeGreaterThan(0)
    const sent = fakes.openai.lastBody() as Record<string, unknown>
    expect(sent.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: prompt }])
    expect(sent).toMatchObject({ max_tokens: 64, temperature: 0.5, stop: ["END"] })
  })

  it("routes a bare Claude id to the Anthropic upstream, which gets Claude Code's extras as sent (pass-through)", async () => {
    const { data, response } = await client().messages.create({
      model: CLAUDE,
      max_tokens: 100,
      system: [{ type: "text", text: "You are terse.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: unique("Hi") }] }],
      metadata: { user_id: "user-42" },
      // Claude Code's extras: never a 400
      ...({ context_management: { edits: [] }, output_config: { effort: "high" }, thinking: { type: "adaptive" } } as object)
    }).withResponse()
    expect(response.status).toBe(200)
    expect(data.content).toEqual([{ type: "text", text: "Hello from fake Claude." }])
    expect(data.model).toBe(`anthropic/${CLAUDE}`)
    expect(response.headers.get("x-llm-provider")).toBe("anthropic")
    // Anthropic's own API takes them all: nothing is left out (anthropic-passthrough.test.ts)
    expect(response.headers.get("x-llm-ignored-fields")).toBeNull()
    const upstream = fakes.anthropic.messageBodies().at(-1) as unknown as Record<string, unknown>
    expect(upstream).toMatchObject({ context_management: { edits: [] }, output_config: { effort: "high" }, thinking: { type: "adaptive" } })
    expect(upstream.metadata).toEqual({ user_id: "user-42" })
    expect(upstream.max_tokens).toBe(100)
  })

  it("takes Claude Code's shapes: system turns inside messages, image blocks, deferred and cached tools", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    const res = await raw(`${gw.url}/v1/messages`, {
      headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: OPENAI,
        max_tokens: 32,
        messages: [
          { role: "system", content: "Reminder: be brief." },
          {
            role: "user",
            content: [
              { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
              { type: "text", text: unique("What is this?"), cache_control: { type: "ephemeral" } }
            ]
          }
        ],
        tools: [{ ...weather, defer_loading: true, cache_control: { type: "ephemeral" } }]
      })
    })
    expect(res.status).toBe(200)
    expect(res.headers.get("x-llm-ignored-fields")).toBe("tools.defer_loading")
    const sent = fakes.openai.lastBody() as { messages: Array<{ role: string; content: unknown }>; tools: Array<unknown> }
    expect(sent.messages[0]).toEqual({ role: "system", content: "Reminder: be brief." })
    expect(sent.messages[1].content).toEqual(expect.arrayContaining([
      { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }
    ]))
    expect(sent.tools).toHaveLength(1)
  })

  it("accepts a query string (`?beta=true`, as the SDK's beta client sends) and x-api-key auth", async () => {
    const res = await raw(`${gw.url}/v1/messages?beta=true`, {
      headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: OPENAI, max_tokens: 16, messages: [{ role: "user", content: unique("beta") }] })
    })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ type: "message", content: [{ type: "text" }] })
  })

  it("a tool round trip through an OpenAI-wire upstream: tool_use out, tool_result back", async () => {
    fakes.openai.respond((body) => {
      const last = (body as unknown as { messages: Array<{ role: string; content: string }> }).messages.at(-1)!
      return last.role === "tool"
        ? `Paris: ${JSON.parse(last.content).temp} °C`
        : { toolCalls: [{ id: "call_paris", name: "get_weather", arguments: { city: "Paris" } }] }
    })
    try {
      const question: Anthropic.Messages.MessageParam = { role: "user", content: unique("Weather in Paris?") }
      const first = await client().messages.create({ model: OPENAI, max_tokens: 200, tools: [weather], messages: [question] })
      expect(first.stop_reason).toBe("tool_use")
      const use = first.content.find((b) => b.type === "tool_use")
      expect(use).toMatchObject({ type: "tool_use", id: "call_paris", name: "get_weather", input: { city: "Paris" } })
      const final = await client().messages.create({
        model: OPENAI,
        max_tokens: 200,
        tools: [weather],
        messages: [
          question,
          { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "call_paris", content: JSON.stringify({ temp: 21 }) }] }
        ]
      })
      expect(final.content).toEqual([{ type: "text", text: "Paris: 21 °C" }])
      expect(final.stop_reason).toBe("end_turn")
      const sent = (fakes.openai.lastBody() as { messages: Array<Record<string, unknown>>; tools: Array<unknown> })
      expect(sent.tools).toEqual([{ type: "function", function: { name: "get_weather", description: "Current weather in a city", parameters: weather.input_schema } }])
      expect(sent.messages[1]).toMatchObject({ role: "assistant", tool_calls: [{ id: "call_paris", type: "function" }] })
      expect(sent.messages[2]).toMatchObject({ role: "tool", tool_call_id: "call_paris" })
    } finally {
      fakes.openai.respond(undefined)
    }
  })

  it("a tool round trip through the Anthropic upstream keeps tool_use ids and tool_choice", async () => {
    fakes.anthropic.script([{ toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: { city: "Oslo" } }] }, { text: "Oslo: 3 °C" }])
    const question: Anthropic.Messages.MessageParam = { role: "user", content: unique("Weather in Oslo?") }
    const first = await client().messages.create({
      model: CLAUDE,
      max_tokens: 200,
      tools: [weather],
      tool_choice: { type: "tool", name: "get_weather" },
      messages: [question]
    })
    expect(first.stop_reason).toBe("tool_use")
    expect(first.content).toEqual([{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }])
    expect(fakes.anthropic.messageBodies().at(-1)?.tool_choice).toMatchObject({ type: "tool", name: "get_weather" })
    const final = await client().messages.create({
      model: CLAUDE,
      max_tokens: 200,
      tools: [weather],
      messages: [
        question,
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "3 °C" }] }
      ]
    })
    expect(final.content).toEqual([{ type: "text", text: "Oslo: 3 °C" }])
  })
})

describe("errors in Anthropic's shape", () => {
  it("401 for a wrong gateway key: authentication_error", async () => {
    const e = await client("wrong-key").messages.create({ model: OPENAI, max_tokens: 8, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e)
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError)
    expect((e as ApiErr).error).toMatchObject({ type: "error", error: { type: "authentication_error" } })
  })

  it("400 for a request without max_tokens: invalid_request_error", async () => {
    const res = await raw(`${gw.url}/v1/messages`, {
      headers: { "x-api-key": KEY },
      body: JSON.stringify({ model: OPENAI, messages: [{ role: "user", content: "hi" }] })
    })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ type: "error", error: { type: "invalid_request_error", message: "'max_tokens' is required" } })
  })

  it("404 for an unknown model: not_found_error", async () => {
    const e = await client().messages.create({ model: "nope/unknown-model", max_tokens: 8, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e)
    expect(e).toBeInstanceOf(Anthropic.NotFoundError)
    expect((e as ApiErr).error).toMatchObject({ type: "error", error: { type: "not_found_error" } })
  })

  it("429 with retry-after: rate_limit_error", async () => {
    // one provider only: with two, the router falls back past the 429
    const only = await startGateway(onlyProviders(fakes, ["anthropic"]))
    fakes.anthropic.fail({ kind: "status", status: 429, headers: { "retry-after": "7" } })
    const e = await new Anthropic({ baseURL: only.url, apiKey: "unused", maxRetries: 0 })
      .messages.create({ model: `anthropic/${CLAUDE}`, max_tokens: 8, messages: [{ role: "user", content: unique("hi") }] })
      .catch((e: unknown) => e)
      .finally(() => only.close())
    expect(e).toBeInstanceOf(Anthropic.RateLimitError)
    expect((e as ApiErr).headers?.get("retry-after")).toBe("7")
    expect((e as ApiErr).error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } })
  })
})

describe("POST /v1/messages (SSE)", () => {
  it("streams text from an OpenAI-wire upstream: message_start … message_stop, usage in message_delta", async () => {
    const stream = client().messages.stream({ model: OPENAI, max_tokens: 64, messages: [{ role: "user", content: unique("Stream") }] })
    const events: Array<string> = []
    stream.on("streamEvent", (e) => events.push(e.type))
    const msg = await stream.finalMessage()
    expect(msg.content).toEqual([{ type: "text", text: "Hello from the fake upstream." }])
    expect(msg.stop_reason).toBe("end_turn")
    expect(msg.usage.output_tokens).toBeGreaterThan(0)
    expect(msg.usage.input_tokens).toBeGreaterThan(0)
    expect(events[0]).toBe("message_start")
    expect(events).toContain("content_block_delta")
    expect(events.slice(-2)).toEqual(["message_delta", "message_stop"])
  })

  it("streams thinking (with its signature) and a tool_use from the Anthropic upstream", async () => {
    fakes.anthropic.script([{ reasoning: "Look it up.", toolCalls: [{ id: "toolu_s", name: "get_weather", arguments: { city: "Rome" } }] }])
    const stream = client().messages.stream({
      model: CLAUDE,
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [weather],
      messages: [{ role: "user", content: unique("Weather in Rome?") }]
    })
    const deltas = new Set<string>()
    stream.on("streamEvent", (e) => {
      if (e.type === "content_block_delta") deltas.add(e.delta.type)
    })
    const msg = await stream.finalMessage()
    expect(msg.stop_reason).toBe("tool_use")
    expect(msg.content[0]).toMatchObject({ type: "thinking", thinking: "Look it up." })
    expect((msg.content[0] as Anthropic.Messages.ThinkingBlock).signature.length).toBeGreaterThan(0)
    expect(msg.content[1]).toEqual({ type: "tool_use", id: "toolu_s", name: "get_weather", input: { city: "Rome" } })
    expect([...deltas]).toEqual(expect.arrayContaining(["thinking_delta", "signature_delta", "input_json_delta"]))
    expect(fakes.anthropic.messageBodies().at(-1)?.thinking).toEqual({ type: "enabled", budget_tokens: 1024 })
  })

  it("a failure after the first chunk ends the stream with an in-band error event", async () => {
    fakes.anthropic.fail({ kind: "streamError", afterChunks: 1, errorType: "overloaded_error", message: "Overloaded" })
    const res = await raw(`${gw.url}/v1/messages`, {
      headers: { "x-api-key": KEY },
      body: JSON.stringify({ model: `anthropic/${CLAUDE}`, max_tokens: 64, stream: true, messages: [{ role: "user", content: unique("cut") }] })
    })
    expect(res.status).toBe(200)
    expect(res.text).toContain("event: message_start")
    expect(res.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"[a-z_]+_error"/)
    expect(res.text).not.toContain("event: message_stop")
  })
})

describe("POST /v1/messages/count_tokens", () => {
  it("counts with the gateway's tokenizer; more text, more tokens", async () => {
    const short = await client().messages.countTokens({ model: OPENAI, messages: [{ role: "user", content: "Hello" }] })
    const long = await client().messages.countTokens({
      model: OPENAI,
      system: "You are a helpful assistant.",
      tools: [weather],
      messages: [{ role: "user", content: "Hello there, how is the weather in Paris today?" }]
    })
    expect(short.input_tokens).toBeGreaterThan(0)
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 10)
  })
})

describe("GET /v1/models with anthropic-version", () => {
  it("lists the chat models in Anthropic's shape (the OpenAI shape without the header)", async () => {
    const ids: Array<string> = []
    for await (const m of client().models.list()) {
      expect(m.type).toBe("model")
      ids.push(m.id)
    }
    expect(ids).toEqual(expect.arrayContaining([OPENAI, `anthropic/${CLAUDE}`]))
    expect(ids).not.toContain("openai/text-embedding-3-small")
    expect(await client().models.retrieve(CLAUDE)).toMatchObject({ type: "model", id: `anthropic/${CLAUDE}` })
    const openai = await raw(`${gw.url}/v1/models`, { method: "GET", headers: { authorization: `Bearer ${KEY}` } })
    expect(openai.json).toMatchObject({ object: "list" })
  })
})
