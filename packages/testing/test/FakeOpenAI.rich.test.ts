/**
 * The fake OpenAI upstream's tools, content parts and reasoning, driven by the real `openai`
 * SDK: what the SDK sends is what the fake records, what the fake answers is what the SDK
 * parses (its tool runner and its stream accumulator included), and a malformed tool sequence
 * gets the real API's 400.
 */
import OpenAI from "openai"
import type { RunnableToolFunctionWithParse } from "openai/lib/RunnableFunction"
import { afterEach, describe, expect, it } from "vitest"
import { type FakeOpenAI, startFakeOpenAI } from "../src/FakeOpenAI.ts"

let fake: FakeOpenAI | undefined
afterEach(async () => {
  await fake?.close()
  fake = undefined
})

const start = async () => {
  fake = await startFakeOpenAI()
  return { fake, client: new OpenAI({ baseURL: fake.baseUrl, apiKey: "sk-test", maxRetries: 0 }) }
}

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current temperature in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: true
  }
}

/** Calls get_weather first; once a tool message is there, answers with what it said. */
const weatherResponder = (body: { messages: ReadonlyArray<{ role: string; content: unknown }> }) => {
  const result = body.messages.find((m) => m.role === "tool")
  return result === undefined
    ? { toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] }
    : { text: `It is ${JSON.parse(String(result.content)).celsius} degrees in Paris.` }
}

describe("FakeOpenAI tools", () => {
  it("runs a tool round trip in JSON: tool_calls, the tool message, the final answer", async () => {
    const { fake, client } = await start()
    fake.respond(weatherResponder)
    const first = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: "auto",
      parallel_tool_calls: true
    })
    const choice = first.choices[0]!
    expect(choice.finish_reason).toBe("tool_calls")
    expect(choice.message.content).toBeNull()
    const call = choice.message.tool_calls![0]!
    expect(call.type === "function" && call.function.name).toBe("get_weather")
    expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Paris" })
    expect(call.id).toMatch(/^call_/)

    const final = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        choice.message,
        { role: "tool", tool_call_id: call.id, content: JSON.stringify({ celsius: 21 }) }
      ],
      tools: [weatherTool]
    })
    expect(final.choices[0]!.message.content).toBe("It is 21 degrees in Paris.")
    expect(final.choices[0]!.finish_reason).toBe("stop")
    const [sent1, sent2] = fake.requests()
    expect(sent1).toMatchObject({ tools: [weatherTool], tool_choice: "auto", parallel_tool_calls: true })
    expect(sent2!.messages[2]).toEqual({ role: "tool", tool_call_id: call.id, content: "{\"celsius\":21}" })
  })

  it("drives the SDK's own tool runner to a final answer, JSON and streamed", async () => {
    const { fake, client } = await start()
    fake.respond(weatherResponder)
    const tools: Array<RunnableToolFunctionWithParse<{ city: string }>> = [{
      type: "function",
      function: {
        name: "get_weather",
        description: weatherTool.function.description,
        parameters: weatherTool.function.parameters,
        function: () => ({ celsius: 18 }),
        parse: (args: string) => JSON.parse(args) as { city: string }
      }
    }]
    const messages = [{ role: "user" as const, content: "Weather in Paris?" }]
    const json = await client.chat.completions.runTools({ model: "gpt-4o-mini", messages, tools }).finalContent()
    expect(json).toBe("It is 18 degrees in Paris.")
    const streamed = await client.chat.completions.runTools({ model: "gpt-4o-mini", messages, tools, stream: true }).finalContent()
    expect(streamed).toBe("It is 18 degrees in Paris.")
    expect(fake.requests()).toHaveLength(4)
  })

  it("streams tool_calls[i].function.arguments in fragments, each call opened with its index and id", async () => {
    const { fake, client } = await start()
    fake.script([{ toolCalls: [{ name: "get_weather", arguments: { city: "Paris", unit: "celsius" } }, { id: "call_b", name: "get_time", arguments: { tz: "Europe/Paris" } }] }])
    const stream = client.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather and time?" }],
      tools: [weatherTool, { type: "function", function: { name: "get_time", parameters: { type: "object" } } }],
      stream_options: { include_usage: true }
    })
    const deltas: Array<OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall> = []
    for await (const chunk of stream) deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
    const final = await stream.finalChatCompletion()

    const opening = deltas.filter((d) => d.id !== undefined)
    expect(opening.map((d) => [d.index, d.function?.name, d.function?.arguments])).toEqual([[0, "get_weather", ""], [1, "get_time", ""]])
    expect(opening[1]!.id).toBe("call_b")
    const fragments0 = deltas.filter((d) => d.index === 0 && d.id === undefined).map((d) => d.function?.arguments)
    expect(fragments0.length).toBeGreaterThan(2)
    expect(JSON.parse(fragments0.join(""))).toEqual({ city: "Paris", unit: "celsius" })
    const calls = final.choices[0]!.message.tool_calls!
    expect(calls.map((c) => c.type === "function" && [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ["get_weather", { city: "Paris", unit: "celsius" }],
      ["get_time", { tz: "Europe/Paris" }]
    ])
    expect(final.choices[0]!.finish_reason).toBe("tool_calls")
    expect(final.usage?.completion_tokens).toBeGreaterThan(0)
  })

  it("cuts a stream in the middle of a tool call's arguments (cutAfter counts every delta)", async () => {
    const { fake, client } = await start()
    fake.script([{ toolCalls: [{ name: "get_weather", arguments: { city: "Paris", unit: "celsius" } }] }])
    fake.enqueueFault({ kind: "cutAfter", chunks: 3 })
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "?" }], tools: [weatherTool], stream: true })
    const seen: Array<string | undefined> = []
    const outcome = await (async () => {
      for await (const chunk of stream) for (const d of chunk.choices[0]?.delta.tool_calls ?? []) seen.push(d.id ?? d.function?.arguments)
    })().then(() => "completed", (e: unknown) => e)
    expect(seen[0]).toMatch(/^call_/)
    expect(seen.slice(1)).toEqual(["{\"city\":", "\"Paris\","])
    expect(outcome).toBeInstanceOf(Error)
  })

  it("makes parallel calls with distinct ids, and only one when parallel_tool_calls is false", async () => {
    const { fake, client } = await start()
    const twoCalls = { toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }] }
    fake.script([twoCalls, twoCalls])
    const base = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Paris and Rome?" }], tools: [weatherTool] }
    const parallel = (await client.chat.completions.create(base)).choices[0]!.message.tool_calls!
    expect(parallel).toHaveLength(2)
    expect(new Set(parallel.map((c) => c.id)).size).toBe(2)
    const single = (await client.chat.completions.create({ ...base, parallel_tool_calls: false })).choices[0]!.message.tool_calls!
    expect(single).toHaveLength(1)
  })

  it("answers a forced tool_choice with a call to that function when nothing is scripted", async () => {
    const { client } = await start()
    const res = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      tools: [weatherTool, { type: "function", function: { name: "get_time" } }],
      tool_choice: { type: "function", function: { name: "get_time" } }
    })
    const call = res.choices[0]!.message.tool_calls![0]!
    expect(call.type === "function" && call.function.name).toBe("get_time")
  })
})

describe("FakeOpenAI content parts and reasoning", () => {
  it("accepts and records image_url, input_audio and file parts", async () => {
    const { fake, client } = await start()
    const content: Array<OpenAI.Chat.Completions.ChatCompletionContentPart> = [
      { type: "text", text: "What is in these?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
      { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
      { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } }
    ]
    const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }] })
    expect(res.choices[0]!.message.content).toBe("Hello from the fake upstream.")
    expect(fake.lastBody()!.messages).toEqual([{ role: "user", content }])
    // only the text parts count as prompt tokens (four words)
    expect(res.usage?.prompt_tokens).toBe(4)
  })

  it("refuses a malformed image part with OpenAI's 400 naming the parameter", async () => {
    const { client } = await start()
    const err = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "not a url" } }] }] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages[0].content[0].image_url.url")
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("invalid_value")
  })

  it("records reasoning_effort, reports reasoning tokens and streams reasoning_content", async () => {
    const { fake, client } = await start()
    fake.script([{ reasoning: "The user wants a greeting, so greet.", text: "Hello!" }, { reasoning: "Think it over first.", text: "Hi." }])
    const json = await client.chat.completions.create({ model: "o4-mini", messages: [{ role: "user", content: "hi" }], reasoning_effort: "high" })
    expect(fake.lastBody()!.reasoning_effort).toBe("high")
    expect(json.usage?.completion_tokens_details?.reasoning_tokens).toBe(7)
    expect(json.usage?.completion_tokens).toBe(8)
    expect((json.choices[0]!.message as unknown as { reasoning_content: string }).reasoning_content).toBe("The user wants a greeting, so greet.")

    const stream = await client.chat.completions.create({
      model: "o4-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true }
    })
    let reasoning = ""
    let text = ""
    let reasoningTokens: number | undefined
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
      reasoning += delta?.reasoning_content ?? ""
      text += delta?.content ?? ""
      reasoningTokens ??= chunk.usage?.completion_tokens_details?.reasoning_tokens
    }
    expect([reasoning, text, reasoningTokens]).toEqual(["Think it over first.", "Hi.", 4])
  })

  it("refuses an unknown reasoning_effort", async () => {
    const { client } = await start()
    const err = await client.chat.completions
      .create({ model: "o4-mini", messages: [{ role: "user", content: "hi" }], reasoning_effort: "extreme" as "high" })
      .catch((e: unknown) => e)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("reasoning_effort")
  })
})

describe("FakeOpenAI refuses malformed tool sequences as the real API does", () => {
  it("a tool message that answers no preceding tool_call", async () => {
    const { client } = await start()
    const err = await client.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }, { role: "tool", tool_call_id: "call_nope", content: "42" }]
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    const e = err as InstanceType<typeof OpenAI.BadRequestError>
    expect(e.status).toBe(400)
    expect(e.param).toBe("messages.[1].role")
    expect(e.message).toContain("messages with role 'tool' must be a response to a preceeding message with 'tool_calls'")
    expect(e.type).toBe("invalid_request_error")
  })

  it("an assistant tool_call left without its tool message", async () => {
    const { client } = await start()
    const err = await client.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }, { id: "call_2", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "call_1", content: "ok" },
          { role: "user", content: "and?" }
        ],
        tools: [{ type: "function", function: { name: "f" } }]
      })
      .catch((e: unknown) => e)
    const e = err as InstanceType<typeof OpenAI.BadRequestError>
    expect(e.status).toBe(400)
    expect(e.param).toBe("messages.[1].role")
    expect(e.message).toContain("The following tool_call_ids did not have response messages: call_2")
  })

  it("tool_choice without tools", async () => {
    const { client } = await start()
    const err = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], tool_choice: "required" })
      .catch((e: unknown) => e)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tool_choice")
  })
})
