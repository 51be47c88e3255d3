/**
 * OpenAI's Responses API on the gateway (`POST /v1/responses`), through the official `openai`
 * client, translated for an OpenAI-wire upstream (FakeOpenAI as `openai-compatible`) and an
 * Anthropic one (FakeAnthropic).
 * Every Response and every stream event is checked against OpenAI's published schema.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, onlyProviders, raw, startFakes, startGateway, unique } from "./support/harness.ts"
import { sseEvents, translated, violations } from "./support/responsesSchema.ts"

const KEY = "gw-responses-test-key"
const OPENAI = "openai/gpt-4o-mini"
const CLAUDE = "claude-3-haiku-20240307"

let fakes: Fakes
let gw: Gateway
/** OpenAI's fake only, no fallback: an injected upstream fault reaches the client as is. */
let single: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  ;[gw, single] = await Promise.all([
    startGateway(translated(configFor(fakes, { server: { apiKeys: [KEY] } }))),
    startGateway(translated(onlyProviders(fakes, ["openai"], { cache: { enabled: false, ttlSeconds: 60, maxSize: 10 } })))
  ])
})
afterAll(async () => {
  await Promise.all([gw?.close(), single?.close()])
  await fakes?.close()
})

const client = (apiKey = KEY, base = gw) => new OpenAI({ baseURL: base.baseURL, apiKey, maxRetries: 0, timeout: 10_000 })

const expectValid = (name: "Response" | "ResponseStreamEvent" | "ErrorResponse", body: unknown) =>
  expect(violations(name, body), `${name}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([])

const weather = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather in a city",
  strict: true,
  // Codex and zod-to-json-schema put a `$schema` key in the parameters: accepted as is
  parameters: {
    $schema: "http://json-schema.org/draft-07/schema#",
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false
  }
}

/** A tool call first; once the tool's output is in the request, a text answer built from it. */
const weatherTurns = () =>
  fakes.openai.respond((body) => {
    const last = body.messages.at(-1) as { role: string; content: string }
    return last.role === "tool"
      ? `Paris: ${JSON.parse(last.content).temp} °C`
      : { toolCalls: [{ id: "call_paris", name: "get_weather", arguments: { city: "Paris" } }] }
  })

describe("POST /v1/responses (JSON)", () => {
  it("answers text from an OpenAI-wire upstream as a Response; instructions and sampling reach the upstream", async () => {
    const prompt = unique("Say hello")
    const { data, response } = await client().responses.create({
      model: OPENAI,
      instructions: "Be brief.",
      input: prompt,
      max_output_tokens: 64,
      temperature: 0.5,
      metadata: { run: "r1" }
    }).withResponse()
    expect(data.output_text).toBe("Hello from the fake upstream.")
    expect(data).toMatchObject({ object: "response", status: "completed", model: OPENAI, metadata: { run: "r1" }, instructions: "Be brief." })
    expect(data.id).toMatch(/^resp_/)
    expect(data.output).toHaveLength(1)
    expect(data.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed" })
    expect(data.usage!.input_tokens).toBeGreaterThan(0)
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens)
    expect(response.headers.get("x-llm-provider")).toBe("openai")
    expect(response.headers.get("x-llm-model")).toBe("gpt-4o-mini")
    expectValid("Response", data)
    const sent = fakes.openai.lastBody() as Record<string, unknown>
    expect(sent.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: prompt }])
    expect(sent).toMatchObject({ max_tokens: 64, temperature: 0.5 })
  })

  it("answers from the Anthropic upstream for a bare Claude id; input items with parts; hosted web_search left out and named", async () => {
    const { data, response } = await client().responses.create({
      model: CLAUDE,
      input: [{ role: "user", content: [{ type: "input_text", text: unique("Hi") }] }],
      tools: [{ type: "web_search" }, weather],
      reasoning: { effort: "low", summary: "auto" },
      include: ["reasoning.encrypted_content"],
      store: false
    }).withResponse()
    expect(response.status).toBe(200)
    expect(data.output_text).toBe("Hello from fake Claude.")
    expect(data.model).toBe(`anthropic/${CLAUDE}`)
    expect(response.headers.get("x-llm-provider")).toBe("anthropic")
    expect(response.headers.get("x-llm-ignored-fields")?.split(",")).toContain("tools.web_search")
    expectValid("Response", data)
    const upstream = fakes.anthropic.messageBodies().at(-1) as unknown as { tools: Array<{ name: string }> }
    expect(upstream.tools.map((t) => t.name)).toEqual(["get_weather"])
  })

  it("reasoning.effort reaches a chat upstream as its reasoning_effort, none and xhigh included", async () => {
    for (const effort of ["none", "xhigh"] as const) {
      const data = await client().responses.create({ model: OPENAI, input: unique(`effort ${effort}`), reasoning: { effort }, store: false })
      expectValid("Response", data)
      expect(data.reasoning?.effort).toBe(effort)
      expect((fakes.openai.lastBody() as Record<string, unknown>).reasoning_effort).toBe(effort)
    }
  })

  it("a function tool round trip: function_call out, function_call_output (with an id) back, final text", async () => {
    weatherTurns()
    try {
      const input: Array<OpenAI.Responses.ResponseInputItem> = [{ role: "user", content: unique("Weather in Paris?") }]
      const first = await client().responses.create({ model: OPENAI, input, tools: [weather], tool_choice: "auto", store: false })
      expectValid("Response", first)
      const call = first.output.find((o) => o.type === "function_call")
      expect(call).toMatchObject({ type: "function_call", call_id: "call_paris", name: "get_weather", status: "completed" })
      expect(call!.id).toMatch(/^fc_/)
      expect(JSON.parse((call as { arguments: string }).arguments)).toEqual({ city: "Paris" })
      const sentTools = (fakes.openai.lastBody() as { tools: Array<{ function: Record<string, unknown> }> }).tools
      expect(sentTools[0].function).toMatchObject({ name: "get_weather", strict: true })

      const final = await client().responses.create({
        model: OPENAI,
        tools: [weather],
        store: false,
        input: [
          ...input,
          ...(first.output as Array<OpenAI.Responses.ResponseInputItem>),
          { type: "function_call_output", id: "fco_1", call_id: "call_paris", output: JSON.stringify({ temp: 21 }) }
        ]
      })
      expect(final.output_text).toBe("Paris: 21 °C")
      expectValid("Response", final)
      const sent = (fakes.openai.lastBody() as { messages: Array<Record<string, unknown>> }).messages
      expect(sent.map((m) => m.role)).toEqual(["user", "assistant", "tool"])
      expect(sent[1]).toMatchObject({ tool_calls: [{ id: "call_paris", type: "function", function: { name: "get_weather" } }] })
      expect(sent[2]).toMatchObject({ role: "tool", tool_call_id: "call_paris" })
    } finally {
      fakes.openai.respond(undefined)
    }
  })

  it("an answer cut by max_output_tokens is status incomplete with incomplete_details, in JSON and in the stream", async () => {
    const cut = await client().responses.create({ model: OPENAI, input: unique("Cut short"), max_output_tokens: 2 })
    expect(cut).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, max_output_tokens: 2 })
    expect(cut.output[0]).toMatchObject({ type: "message", status: "incomplete" })
    expectValid("Response", cut)
    const stream = client().responses.stream({ model: OPENAI, input: unique("Cut short, streamed"), max_output_tokens: 2 })
    for await (const e of stream) expectValid("ResponseStreamEvent", e)
    expect(await stream.finalResponse()).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } })
  })

  it("text.format json_schema becomes the upstream's response_format", async () => {
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false }
    fakes.openai.respond(() => JSON.stringify({ ok: true }))
    try {
      const r = await client().responses.create({
        model: OPENAI,
        input: unique("Answer in JSON"),
        text: { format: { type: "json_schema", name: "answer", schema, strict: true } }
      })
      expect(JSON.parse(r.output_text)).toEqual({ ok: true })
      expect(r.text).toMatchObject({ format: { type: "json_schema", name: "answer" } })
      expectValid("Response", r)
      expect((fakes.openai.lastBody() as Record<string, unknown>).response_format).toEqual({
        type: "json_schema",
        json_schema: { name: "answer", schema, strict: true }
      })
    } finally {
      fakes.openai.respond(undefined)
    }
  })
})

describe("POST /v1/responses (SSE)", () => {
  it("streams OpenAI's typed events in order, each valid, sequence numbers increasing, ending in response.completed", async () => {
    const stream = client().responses.stream({ model: OPENAI, input: unique("Stream") })
    const events: Array<OpenAI.Responses.ResponseStreamEvent> = []
    for await (const e of stream) events.push(e)
    const final = await stream.finalResponse()
    expect(final.output_text).toBe("Hello from the fake upstream.")
    expect(final.usage!.output_tokens).toBeGreaterThan(0)
    for (const e of events) expectValid("ResponseStreamEvent", e)
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const types = events.map((e) => e.type)
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"])
    expect(types).toContain("response.output_text.delta")
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"])
    const deltas = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : []))
    expect(deltas.join("")).toBe("Hello from the fake upstream.")
  })

  it("streams reasoning summaries and a function call from the Anthropic upstream", async () => {
    fakes.anthropic.script([{ reasoning: "Look it up.", toolCalls: [{ id: "toolu_s", name: "get_weather", arguments: { city: "Rome" } }] }])
    const stream = client().responses.stream({
      model: CLAUDE,
      input: unique("Weather in Rome?"),
      tools: [weather],
      reasoning: { effort: "medium", summary: "auto" },
      include: ["reasoning.encrypted_content"],
      store: false
    })
    const events: Array<OpenAI.Responses.ResponseStreamEvent> = []
    for await (const e of stream) events.push(e)
    for (const e of events) expectValid("ResponseStreamEvent", e)
    const types = new Set(events.map((e) => e.type))
    for (const t of ["response.reasoning_summary_part.added", "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done", "response.function_call_arguments.delta", "response.function_call_arguments.done"]) {
      expect(types).toContain(t)
    }
    const final = await stream.finalResponse()
    expect(final.output.map((o) => o.type)).toEqual(["reasoning", "function_call"])
    expect(final.output[0]).toMatchObject({ summary: [{ type: "summary_text", text: "Look it up." }] })
    // the thinking block's signature travels as encrypted_content and comes back to Anthropic intact
    const encrypted = (final.output[0] as { encrypted_content?: string }).encrypted_content
    expect(encrypted).toBeTypeOf("string")
    expect(final.output[1]).toMatchObject({ call_id: "toolu_s", name: "get_weather", arguments: JSON.stringify({ city: "Rome" }) })
    fakes.anthropic.script([{ text: "Rome: 25 °C" }])
    const next = await client().responses.create({
      model: CLAUDE,
      tools: [weather],
      store: false,
      input: [
        { role: "user", content: "Weather in Rome?" },
        ...(final.output as Array<OpenAI.Responses.ResponseInputItem>),
        { type: "function_call_output", call_id: "toolu_s", output: "25 °C" }
      ]
    })
    expect(next.output_text).toBe("Rome: 25 °C")
    const sent = fakes.anthropic.messageBodies().at(-1) as unknown as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> }
    expect(sent.messages[1].content[0]).toMatchObject({ type: "thinking", thinking: "Look it up." })
    expect((sent.messages[1].content[0].signature as string).length).toBeGreaterThan(0)
  })

  it("takes what Codex sends: store false, include, client_metadata, prompt_cache_key, namespace tools, hosted tools", async () => {
    const res = await raw(`${gw.url}/v1/responses`, {
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        model: CLAUDE,
        instructions: "You are a coding agent.",
        input: [
          { type: "message", role: "developer", content: [{ type: "input_text", text: "Sandbox: read-only." }] },
          { type: "message", role: "user", content: [{ type: "input_text", text: unique("List files") }] }
        ],
        tools: [
          { type: "function", name: "shell", strict: false, parameters: { type: "object", properties: { command: { type: "array", items: { type: "string" } } } } },
          { type: "namespace", name: "mcp_fs", description: "Files", tools: [{ type: "function", name: "read_file", parameters: { type: "object" } }] },
          { type: "web_search", external_web_access: false },
          { type: "custom", name: "apply_patch", format: { type: "grammar", syntax: "lark", definition: "start: /.+/" } }
        ],
        tool_choice: "auto",
        parallel_tool_calls: false,
        reasoning: { effort: "medium", summary: "auto" },
        store: false,
        stream: true,
        include: ["reasoning.encrypted_content"],
        prompt_cache_key: "019a-session",
        client_metadata: { originator: "codex_exec" },
        text: { verbosity: "medium" }
      })
    })
    expect(res.status).toBe(200)
    const ignored = res.headers.get("x-llm-ignored-fields")?.split(",") ?? []
    expect(ignored).toEqual(expect.arrayContaining(["tools.web_search", "tools.custom", "client_metadata", "text.verbosity"]))
    const events = sseEvents(res.text)
    for (const e of events) {
      expect(e.event).toBe(e.data.type)
      expectValid("ResponseStreamEvent", e.data)
    }
    expect(events.at(-1)?.event).toBe("response.completed")
    const upstream = fakes.anthropic.messageBodies().at(-1) as unknown as { tools: Array<{ name: string }>; system: unknown }
    expect(upstream.tools.map((t) => t.name)).toEqual(["shell", "read_file"])
    expect(JSON.stringify(upstream.system)).toContain("Sandbox: read-only.")
  })
})

describe("errors in OpenAI's envelope", () => {
  it("400 naming a field the gateway cannot honour", async () => {
    const res = await raw(`${gw.url}/v1/responses`, {
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: OPENAI, input: "hi", conversation: "conv_1" })
    })
    expect(res.status).toBe(400)
    expect(res.json).toMatchObject({ error: { code: "invalid_request", param: "conversation" } })
    expectValid("ErrorResponse", res.json)
  })

  it("a wrong method is a 405 naming the methods the path takes", async () => {
    const create = await fetch(`${gw.url}/v1/responses`, { method: "PUT" })
    expect([create.status, create.headers.get("allow")]).toEqual([405, "POST, OPTIONS"])
    const one = await fetch(`${gw.url}/v1/responses/resp_x`, { method: "PATCH" })
    expect([one.status, one.headers.get("allow")]).toEqual([405, "GET, HEAD, DELETE, OPTIONS"])
  })

  it("401 for a wrong key, 404 for an unknown model and for an unknown previous_response_id", async () => {
    const wrong = await client("wrong-key").responses.create({ model: OPENAI, input: "hi" }).catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError)
    const model = await client().responses.create({ model: "nope/unknown-model", input: "hi" }).catch((e: unknown) => e)
    expect(model).toBeInstanceOf(OpenAI.NotFoundError)
    expect((model as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found")
    const previous = await client().responses.create({ model: OPENAI, input: "hi", previous_response_id: "resp_never" }).catch((e: unknown) => e)
    expect(previous).toBeInstanceOf(OpenAI.NotFoundError)
    expect((previous as InstanceType<typeof OpenAI.APIError>).code).toBe("previous_response_not_found")
  })

  it("429 with the upstream's retry-after, and a 5xx for an upstream failure", async () => {
    fakes.openai.enqueueFault({ kind: "status", status: 429, headers: { "retry-after": "7" } })
    const limited = await client("unused", single).responses.create({ model: OPENAI, input: unique("hi") }).catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError)
    expect((limited as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("7")
    fakes.openai.enqueueFault({ kind: "status", status: 500 })
    const failed = await client("unused", single).responses.create({ model: OPENAI, input: unique("hi") }).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(OpenAI.APIError)
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(500)
  })

  it("an upstream cut after the first chunk ends the stream with response.failed", async () => {
    fakes.openai.enqueueFault({ kind: "cutAfter", chunks: 1 })
    const res = await raw(`${single.url}/v1/responses`, { body: JSON.stringify({ model: OPENAI, input: unique("cut"), stream: true }) })
    expect(res.status).toBe(200)
    const events = sseEvents(res.text)
    for (const e of events) expectValid("ResponseStreamEvent", e.data)
    expect(events[0].event).toBe("response.created")
    expect(events.at(-1)?.event).toBe("response.failed")
    expect(events.at(-1)?.data).toMatchObject({ response: { status: "failed", error: { code: "server_error" } } })
    expect(events.map((e) => e.event)).not.toContain("response.completed")
  })
})
