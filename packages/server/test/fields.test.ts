/**
 * Issue 11, correctness: no request field is dropped without a word. Driven with the official
 * `openai` client against the running server; the fake upstreams record what they received.
 * The field table these rows follow is in notes/http-api.md.
 */
import { fakeEmbedding } from "@llm-gateway/testing/FakeOpenAI"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

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

const OPENAI = "openai/gpt-4o-mini"
const ANTHROPIC = "anthropic/claude-3-haiku-20240307"
const OLLAMA = "ollama/llama3.2:latest"

type Row = readonly [field: string, value: unknown]

/** Every field the gateway does not interpret, with a value that asks for something. */
const passThrough: ReadonlyArray<Row> = [
  ["logprobs", true],
  ["top_logprobs", 2],
  ["frequency_penalty", 0.5],
  ["presence_penalty", -0.5],
  ["logit_bias", { "50256": -100 }],
  ["seed", 42],
  ["user", "user-1234"],
  ["service_tier", "flex"],
  ["prompt_cache_key", "tenant-7"],
  ["metadata", { purpose: "test" }],
  ["store", false],
  ["reasoning_effort", "low"],
  ["top_k", 40] // not OpenAI's: a vendor extension (vLLM) is passed through as well
]

/** Sends one chat with `field: value` through the official client; status, headers, body. */
const send = async (model: string, field: string, value: unknown, more: Record<string, unknown> = {}) => {
  const params = { model, messages: [{ role: "user", content: unique(field) }], [field]: value, ...more }
  try {
    const { data, response } = await gw.client().chat.completions
      .create(params as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
      .withResponse()
    return { status: 200, headers: response.headers, data, error: undefined }
  } catch (e) {
    if (e instanceof OpenAI.APIError) return { status: e.status, headers: e.headers, data: undefined, error: e }
    throw e
  }
}

describe("the field rule", () => {
  it.each(passThrough)("openai: %s reaches the upstream unchanged", async (field, value) => {
    const r = await send(OPENAI, field, value)
    expect(r.status).toBe(200)
    expect(fakes.openai.lastBody()?.[field]).toEqual(value)
    expect(r.headers?.get("x-llm-ignored-fields")).toBeNull()
  })

  // OpenAI refuses `parallel_tool_calls` without `tools` (400 naming it); tools are not served yet,
  // so the field reaches the upstream unchanged and the upstream's answer comes back as a 400.
  it("openai: parallel_tool_calls reaches the upstream unchanged", async () => {
    const r = await send(OPENAI, "parallel_tool_calls", false)
    expect(fakes.openai.lastBody()?.parallel_tool_calls).toBe(false)
    expect(r.status).toBe(400)
    expect(r.error?.message).toContain("parallel_tool_calls")
  })

  it("openai: every field at once, on the stream too", async () => {
    const fields = Object.fromEntries(passThrough)
    const stream = await gw.client().chat.completions.create({
      model: OPENAI,
      messages: [{ role: "user", content: unique("all") }],
      stream: true,
      ...fields
    } as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming)
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    expect(text).toBe("Hello from the fake upstream.")
    expect(fakes.openai.lastBody()).toMatchObject(fields)
  })

  // [provider, field, value, outcome]: mapped (what the upstream got), ignored (header) or 400.
  // parallel_tool_calls and reasoning_effort are request fields since issue 13 (tools, thinking),
  // mapped by each provider: their rows are in the providers' rich-message tests.
  const mapped: ReadonlyArray<readonly [string, string, unknown, "ignored" | "refused" | ((body: any) => unknown), unknown?]> = [
    [ANTHROPIC, "user", "user-1234", (b) => b.metadata, { user_id: "user-1234" }],
    [ANTHROPIC, "seed", 42, "ignored"],
    [ANTHROPIC, "service_tier", "flex", "ignored"],
    [ANTHROPIC, "prompt_cache_key", "tenant-7", "ignored"],
    [ANTHROPIC, "metadata", { purpose: "test" }, "ignored"],
    [ANTHROPIC, "store", false, "ignored"],
    [ANTHROPIC, "frequency_penalty", 0, "ignored"], // a neutral value changes nothing
    [ANTHROPIC, "logprobs", false, "ignored"],
    [ANTHROPIC, "logprobs", true, "refused"],
    [ANTHROPIC, "top_logprobs", 2, "refused"],
    [ANTHROPIC, "logit_bias", { "50256": -100 }, "refused"],
    [ANTHROPIC, "frequency_penalty", 0.5, "refused"],
    [ANTHROPIC, "presence_penalty", -0.5, "refused"],
    [OLLAMA, "seed", 42, (b) => b.options?.seed, 42],
    [OLLAMA, "frequency_penalty", 0.5, (b) => b.options?.frequency_penalty, 0.5],
    [OLLAMA, "presence_penalty", -0.5, (b) => b.options?.presence_penalty, -0.5],
    [OLLAMA, "user", "user-1234", "ignored"],
    [OLLAMA, "service_tier", "flex", "ignored"],
    [OLLAMA, "prompt_cache_key", "tenant-7", "ignored"],
    [OLLAMA, "top_k", 40, "ignored"],
    [OLLAMA, "logprobs", true, "refused"],
    [OLLAMA, "logit_bias", { "50256": -100 }, "refused"]
  ]

  it.each(mapped.map((row) => [...row]))("%s: %s = %j is %s", async (...row) => {
    const [model, field, value, outcome, expected] = row as unknown as (typeof mapped)[number]
    const r = await send(model, field, value)
    if (outcome === "refused") {
      expect(r.status).toBe(400)
      expect(r.error?.param).toBe(field)
      expect(r.error?.message).toContain(`'${field}'`)
      return
    }
    expect(r.status).toBe(200)
    if (outcome === "ignored") {
      expect(r.headers?.get("x-llm-ignored-fields")?.split(",")).toEqual([field])
      return
    }
    const last = model === ANTHROPIC ? fakes.anthropic.messageBodies().at(-1) : fakes.ollama.chatRequests().at(-1)
    expect(outcome(last)).toEqual(expected)
    expect(r.headers?.get("x-llm-ignored-fields")).toBeNull()
  })

  it("names every ignored field in one header, on a stream as on JSON", async () => {
    const res = await raw(`${gw.baseURL}/chat/completions`, {
      body: JSON.stringify({
        model: ANTHROPIC,
        stream: true,
        user: "u",
        seed: 1,
        service_tier: "auto",
        messages: [{ role: "user", content: unique("stream ignored") }]
      })
    })
    expect(res.status).toBe(200)
    expect(res.headers.get("x-llm-ignored-fields")).toBe("seed,service_tier")
    expect(fakes.anthropic.messageBodies().at(-1)).toMatchObject({ metadata: { user_id: "u" } })
  })

  it("model auto skips a candidate that would refuse a field for one that honours it", async () => {
    const only = await startGateway(configFor(fakes, {
      routing: {
        strategy: "performance",
        fallbackOrder: [ANTHROPIC, OPENAI],
        maxRetries: 0,
        timeoutMs: 5000,
        attemptTimeoutMs: 3000
      }
    }))
    try {
      const plain = await only.client().chat.completions
        .create({ model: "auto", messages: [{ role: "user", content: unique("plain") }] })
        .withResponse()
      expect(plain.response.headers.get("x-llm-provider")).toBe("anthropic")
      const { response } = await only.client().chat.completions
        .create({ model: "auto", logprobs: true, messages: [{ role: "user", content: unique("probs") }] })
        .withResponse()
      expect(response.headers.get("x-llm-provider")).toBe("openai")
      expect(fakes.openai.lastBody()?.logprobs).toBe(true)
    } finally {
      await only.close()
    }
  })

  it("response_format.json_schema.strict reaches an OpenAI-wire upstream", async () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false }
    await gw.client().chat.completions.create({
      model: OPENAI,
      messages: [{ role: "user", content: unique("strict") }],
      response_format: { type: "json_schema", json_schema: { name: "thing", schema, strict: true } }
    })
    expect(fakes.openai.lastBody()?.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "thing", schema, strict: true }
    })
  })

  it("a different pass-through field is a different cache entry", async () => {
    const content = unique("seeded")
    const before = fakes.openai.server.requests.length
    for (const seed of [1, 2, 1]) {
      await gw.client().chat.completions.create({ model: OPENAI, seed, messages: [{ role: "user", content }] })
    }
    expect(fakes.openai.server.requests.length - before).toBe(2)
  })
})

describe("max_completion_tokens", () => {
  it("is sent as the client sent it to OpenAI-wire upstreams, and translated elsewhere", async () => {
    await gw.client().chat.completions.create({ model: OPENAI, max_completion_tokens: 64, messages: [{ role: "user", content: unique("o3") }] })
    expect(fakes.openai.lastBody()).toMatchObject({ max_completion_tokens: 64 })
    expect(fakes.openai.lastBody()).not.toHaveProperty("max_tokens")
    await gw.client().chat.completions.create({ model: OPENAI, max_tokens: 32, messages: [{ role: "user", content: unique("old") }] })
    expect(fakes.openai.lastBody()).toMatchObject({ max_tokens: 32 })
    expect(fakes.openai.lastBody()).not.toHaveProperty("max_completion_tokens")
    await gw.client().chat.completions.create({ model: ANTHROPIC, max_completion_tokens: 64, messages: [{ role: "user", content: unique("c") }] })
    expect(fakes.anthropic.messageBodies().at(-1)?.max_tokens).toBe(64)
    await gw.client().chat.completions.create({ model: OLLAMA, max_completion_tokens: 64, messages: [{ role: "user", content: unique("l") }] })
    expect(fakes.ollama.chatRequests().at(-1)?.options?.num_predict).toBe(64)
  })
})

describe("content parts", () => {
  it("stay separate parts: joined with a newline, not run together", async () => {
    await gw.client().chat.completions.create({
      model: OPENAI,
      messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }, { type: "text", text: `politely ${unique("")}` }] }]
    })
    const sent = (fakes.openai.lastBody()?.messages as Array<{ content: string }>)[0].content
    expect(sent.startsWith("Say hello\npolitely")).toBe(true)
  })
})

describe("n > 1", () => {
  it("is passed to an openai upstream, which answers every choice", async () => {
    const data = await gw.client().chat.completions.create({ model: OPENAI, n: 3, messages: [{ role: "user", content: unique("n3") }] })
    expect(fakes.openai.lastBody()?.n).toBe(3)
    expect(data.choices.map((c) => c.index)).toEqual([0, 1, 2])
    expect(data.choices.every((c) => c.message.content === "Hello from the fake upstream.")).toBe(true)
  })

  it("fans out to a provider without n: n choices, usage summed; a repeat is one cache entry", async () => {
    const content = unique("fan out")
    const single = await gw.client().chat.completions.create({ model: OLLAMA, messages: [{ role: "user", content }] })
    const before = fakes.ollama.chatRequests().length
    const { data, response } = await gw.client().chat.completions
      .create({ model: OLLAMA, n: 3, messages: [{ role: "user", content }] })
      .withResponse()
    expect(fakes.ollama.chatRequests().length - before).toBe(3)
    expect(response.headers.get("x-llm-cache")).toBe("miss")
    expect(data.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([0, 1, 2].map((i) => [i, "Hello from fake Ollama", "stop"]))
    expect(data.usage!.completion_tokens).toBe(3 * single.usage!.completion_tokens)
    expect(data.usage!.prompt_tokens).toBe(3 * single.usage!.prompt_tokens)
    const again = await gw.client().chat.completions.create({ model: OLLAMA, n: 3, messages: [{ role: "user", content }] }).withResponse()
    expect(again.response.headers.get("x-llm-cache")).toBe("hit")
    expect(again.data.choices).toHaveLength(3)
  })

  it("streams every choice under its own index, each with its finish reason, usage summed", async () => {
    const stream = await gw.client().chat.completions.create({
      model: ANTHROPIC,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: unique("stream n") }]
    })
    const text = ["", ""]
    const finish: Array<string | null> = [null, null]
    const roles: Array<number> = []
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text[c.index] += c.delta.content ?? ""
        if (c.delta.role === "assistant") roles.push(c.index)
        if (c.finish_reason !== null) finish[c.index] = c.finish_reason
      }
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toEqual(["Hello from fake Claude.", "Hello from fake Claude."])
    expect(finish).toEqual(["stop", "stop"])
    expect(roles.sort()).toEqual([0, 1])
    const single = await gw.client().chat.completions.create({ model: ANTHROPIC, messages: [{ role: "user", content: unique("stream n") }] })
    expect(usage!.completion_tokens).toBe(2 * single.usage!.completion_tokens)
  })
})

describe("embeddings", () => {
  it("passes dimensions to an OpenAI-wire upstream: 4 dims for dimensions: 4", async () => {
    const r = await gw.client().embeddings.create({ model: "openai/text-embedding-3-small", input: "alpha", dimensions: 4 })
    expect(fakes.openai.lastBody()?.dimensions).toBe(4)
    expect(r.data[0].embedding).toEqual(fakeEmbedding("alpha", 4))
  })

  it("passes token-array inputs (number[] and number[][]) to an OpenAI-wire upstream", async () => {
    const one = await gw.client().embeddings.create({ model: "openai/text-embedding-3-small", input: [1, 2, 3], encoding_format: "float" })
    // one token array is one input: sent as OpenAI reads it, a list of one
    expect(fakes.openai.lastBody()?.input).toEqual([[1, 2, 3]])
    expect(one.data).toHaveLength(1)
    const two = await gw.client().embeddings.create({ model: "openai/text-embedding-3-small", input: [[1, 2], [3]], encoding_format: "float" })
    expect(fakes.openai.lastBody()?.input).toEqual([[1, 2], [3]])
    expect(two.data.map((d) => d.index)).toEqual([0, 1])
  })

  it("answers 400 naming input when the provider cannot take token arrays (Ollama)", async () => {
    const e = await gw.client().embeddings
      .create({ model: "ollama/nomic-embed-text:latest", input: [[1, 2]], encoding_format: "float" })
      .catch((error: unknown) => error)
    expect(e).toBeInstanceOf(OpenAI.BadRequestError)
    expect((e as InstanceType<typeof OpenAI.APIError>).param).toBe("input")
  })
})

describe("reasoning_effort: every value of OpenAI's published schema is read and carried", () => {
  it.each(["none", "minimal", "xhigh", "max"])("openai: %s reaches the upstream as sent", async (effort) => {
    const r = await send(OPENAI, "reasoning_effort", effort)
    expect(r.status).toBe(200)
    expect(fakes.openai.lastBody()?.reasoning_effort).toBe(effort)
  })

  it("ollama: none turns thinking off, xhigh and max are its highest level", async () => {
    const think = async (effort: string) => {
      expect((await send(OLLAMA, "reasoning_effort", effort)).status).toBe(200)
      return fakes.ollama.chatRequests().at(-1)?.think
    }
    expect(await think("none")).toBe(false)
    expect(await think("xhigh")).toBe("high")
    expect(await think("max")).toBe("high")
  })

  it("anthropic: none asks for no thinking, and needs no reasoning model", async () => {
    const r = await send(ANTHROPIC, "reasoning_effort", "none")
    expect(r.status).toBe(200)
    expect(fakes.anthropic.messageBodies().at(-1)?.thinking).toBeUndefined()
  })

  it("a value outside the schema is a 400 naming reasoning_effort and listing the values", async () => {
    const r = await send(OPENAI, "reasoning_effort", "extreme")
    expect(r.status).toBe(400)
    expect(r.error?.param).toBe("reasoning_effort")
    expect(r.error?.message).toContain("none, minimal, low, medium, high, xhigh, max")
  })
})
