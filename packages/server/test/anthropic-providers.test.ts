/**
 * Anthropic's Messages API through `@anthropic-ai/sdk` on the providers that do not speak it:
 * thinking from an OpenAI-wire upstream's reasoning, the embedded llama.cpp model (text, stream,
 * a forced tool round trip), and upstream 5xx answers in Anthropic's error shape.
 */
import Anthropic from "@anthropic-ai/sdk"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, onlyProviders, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY = "gw-anthropic-providers-key"
const OPENAI = "openai/gpt-4o-mini"
const LOCAL = "local/stories260K"
const modelPath = fileURLToPath(new URL("../../../models/stories260K.gguf", import.meta.url))

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  const base = configFor(fakes) as unknown as { providers: Array<object>; routing: object }
  const local = { name: "local", type: "llamacpp", modelPath, threads: 1, models: [{ id: "stories260K" }] }
  // llama.cpp loads its model on the first request: the deadlines leave room for that on a busy machine
  const routing = { ...base.routing, timeoutMs: 30_000, attemptTimeoutMs: 20_000 }
  gw = await startGateway(configFor(fakes, { providers: [...base.providers, local], routing, server: { apiKeys: [KEY] } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const client = (url = gw.url) => new Anthropic({ baseURL: url, apiKey: KEY, maxRetries: 0, timeout: 30_000 })

const weather: Anthropic.Messages.Tool = {
  name: "get_weather",
  description: "Current weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}

describe("thinking from an OpenAI-wire upstream", () => {
  it("JSON: the upstream's reasoning comes back as a thinking block before the text", async () => {
    fakes.openai.script([{ reasoning: "Six times seven.", text: "42" }])
    const msg = await client().messages.create({
      model: OPENAI,
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: unique("What is six times seven?") }]
    })
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text"])
    expect(msg.content[0]).toMatchObject({ type: "thinking", thinking: "Six times seven." })
    expect(msg.content[1]).toEqual({ type: "text", text: "42" })
    expect(msg.model).toBe(OPENAI)
  })

  it("SSE: thinking_delta events, then the text", async () => {
    fakes.openai.script([{ reasoning: "Count the letters.", text: "Five." }])
    const stream = client().messages.stream({
      model: OPENAI,
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: unique("How many letters in 'apple'?") }]
    })
    const deltas: Array<string> = []
    stream.on("streamEvent", (e) => {
      if (e.type === "content_block_delta") deltas.push(e.delta.type)
    })
    const msg = await stream.finalMessage()
    expect(msg.content[0]).toMatchObject({ type: "thinking", thinking: "Count the letters." })
    expect(msg.content.at(-1)).toEqual({ type: "text", text: "Five." })
    expect(deltas.indexOf("thinking_delta")).toBeGreaterThanOrEqual(0)
    expect(deltas.indexOf("thinking_delta")).toBeLessThan(deltas.indexOf("text_delta"))
  })
})

describe("the embedded llama.cpp model behind the Messages API", () => {
  it("JSON and SSE: text from stories260K, with usage", async () => {
    const ask = { model: LOCAL, max_tokens: 24, messages: [{ role: "user" as const, content: "Once upon a time" }] }
    const msg = await client().messages.create(ask)
    expect(msg.model).toBe(LOCAL)
    expect(msg.content[0]).toMatchObject({ type: "text" })
    expect((msg.content[0] as Anthropic.Messages.TextBlock).text.length).toBeGreaterThan(0)
    expect(msg.usage.output_tokens).toBeGreaterThan(0)
    const streamed = await client().messages.stream(ask).finalMessage()
    expect((streamed.content[0] as Anthropic.Messages.TextBlock).text.length).toBeGreaterThan(0)
    expect(["end_turn", "max_tokens"]).toContain(streamed.stop_reason)
  })

  it("a forced tool call, its tool_result sent back, and a final text answer", async () => {
    const question: Anthropic.Messages.MessageParam = { role: "user", content: "Weather in Paris?" }
    const first = await client().messages.create({
      model: LOCAL,
      max_tokens: 64,
      tools: [weather],
      tool_choice: { type: "tool", name: "get_weather" },
      messages: [question]
    })
    expect(first.stop_reason).toBe("tool_use")
    const use = first.content.find((b): b is Anthropic.Messages.ToolUseBlock => b.type === "tool_use")
    expect(use?.name).toBe("get_weather")
    expect(typeof (use?.input as { city?: unknown }).city).toBe("string")
    const final = await client().messages.create({
      model: LOCAL,
      max_tokens: 24,
      tools: [weather],
      messages: [
        question,
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use!.id, content: "21 °C and sunny" }] }
      ]
    })
    expect(final.content.some((b) => b.type === "text")).toBe(true)
    expect(["end_turn", "max_tokens"]).toContain(final.stop_reason)
  })
})

describe("upstream 5xx in Anthropic's shape", () => {
  it("a 500 from the only candidate is a 503 overloaded_error (Anthropic's clients retry it); an unreadable answer a 5xx api_error", async () => {
    const only = await startGateway(onlyProviders(fakes, ["openai"], { server: { apiKeys: [KEY] } }))
    type ApiErr = InstanceType<typeof Anthropic.APIError>
    try {
      const ask = () =>
        client(only.url).messages
          .create({ model: OPENAI, max_tokens: 8, messages: [{ role: "user", content: unique("hi") }] })
          .catch((e: unknown) => e as ApiErr)
      fakes.openai.enqueueFault({ kind: "status", status: 500, body: { error: { message: "boom", type: "server_error" } } })
      const busy = await ask()
      expect(busy).toBeInstanceOf(Anthropic.APIError)
      expect([(busy as ApiErr).status, (busy as ApiErr).error]).toMatchObject([503, { type: "error", error: { type: "overloaded_error" } }])
      fakes.openai.enqueueFault({ kind: "malformed" })
      const broken = await ask()
      expect((broken as ApiErr).status).toBeGreaterThanOrEqual(500)
      expect((broken as ApiErr).error).toMatchObject({ type: "error", error: { type: "api_error" } })
    } finally {
      await only.close()
    }
  })
})
