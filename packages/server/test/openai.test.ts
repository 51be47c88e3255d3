import OpenAI from "openai"
/**
 * The OpenAI-compatible API, driven with the official `openai` client against the running
 * server, with each provider type behind it.
 */
import { fakeEmbedding, fakeTokenCount } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, onlyProviders, startFakes, startGateway, unique } from "./support/harness.ts"

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

describe("POST /v1/chat/completions", () => {
  it("also answers without the /v1 prefix (an OpenAI client given the bare gateway URL)", async () => {
    const client = new OpenAI({ baseURL: gw.url, apiKey: "unused", maxRetries: 0 })
    const data = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("bare") }] })
    expect(data.choices[0].message.content).toBe("Hello from the fake upstream.")
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toContain("openai/gpt-4o-mini")
  })

  it("answers a non-streamed chat with OpenAI's shape, usage and the x-llm-* headers", async () => {
    const content = unique("Say hello")
    const { data, response } = await gw.client().chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content }] })
      .withResponse()
    expect(data.object).toBe("chat.completion")
    expect(data.model).toBe("openai/gpt-4o-mini")
    expect(data.choices[0].message).toMatchObject({ role: "assistant", content: "Hello from the fake upstream." })
    expect(data.choices[0].finish_reason).toBe("stop")
    expect(data.usage).toEqual({
      prompt_tokens: fakeTokenCount(content),
      completion_tokens: 5,
      total_tokens: fakeTokenCount(content) + 5
    })
    expect(response.headers.get("x-llm-provider")).toBe("openai")
    expect(response.headers.get("x-llm-model")).toBe("gpt-4o-mini")
    expect(response.headers.get("x-llm-cache")).toBe("miss")
    expect(response.headers.get("x-llm-attempts")).toBe("1")
    const overhead = Number(response.headers.get("x-llm-overhead-ms"))
    expect(overhead).toBeGreaterThanOrEqual(0)
    expect(overhead).toBeLessThan(1000)
  })

  it("serves the same request from the cache (x-llm-cache: hit), and bypasses it on x-llm-cache: no-cache", async () => {
    const client = gw.client()
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user" as const, content: unique("cache me") }] }
    const upstreamBefore = fakes.openai.server.requests.length
    await client.chat.completions.create(body)
    const hit = await client.chat.completions.create(body).withResponse()
    expect(hit.response.headers.get("x-llm-cache")).toBe("hit")
    expect(hit.response.headers.get("x-llm-attempts")).toBe("0")
    expect(hit.data.choices[0].message.content).toBe("Hello from the fake upstream.")
    const bypass = await client.chat.completions.create(body, { headers: { "x-llm-cache": "no-cache" } }).withResponse()
    expect(bypass.response.headers.get("x-llm-cache")).toBe("bypass")
    expect(fakes.openai.server.requests.length - upstreamBefore).toBe(2)
  })

  it("streams chunks then [DONE], with the usage chunk when stream_options.include_usage is set", async () => {
    const content = unique("Stream please")
    const { data: stream, response } = await gw.client().chat.completions
      .create({
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content }],
        stream: true,
        stream_options: { include_usage: true }
      })
      .withResponse()
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    expect(response.headers.get("x-llm-provider")).toBe("openai")
    expect(response.headers.get("x-llm-cache")).toBe("miss")
    let text = ""
    const finishes: Array<string | null> = []
    let usage: unknown
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk")
      if (chunk.choices.length > 0) {
        text += chunk.choices[0].delta.content ?? ""
        finishes.push(chunk.choices[0].finish_reason)
      }
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe("Hello from the fake upstream.")
    expect(finishes.at(-1)).toBe("stop")
    expect(usage).toEqual({ prompt_tokens: fakeTokenCount(content), completion_tokens: 5, total_tokens: fakeTokenCount(content) + 5 })
  })

  it("ends the raw SSE body with data: [DONE], no usage chunk unless asked; a repeat is a cache hit", async () => {
    const body = JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: unique("raw") }] })
    const send = () => fetch(`${gw.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
    const res = await send()
    const text = await res.text()
    const events = text.split("\n\n").filter((e) => e.length > 0)
    expect(events.at(-1)).toBe("data: [DONE]")
    expect(events.every((e) => e.startsWith("data: "))).toBe(true)
    expect(text).not.toContain("\"usage\"")
    const again = await send()
    expect(again.headers.get("x-llm-cache")).toBe("hit")
    const replay = await again.text()
    const content = (t: string) =>
      t.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta.content ?? "").join("")
    expect(content(replay)).toBe(content(text))
    expect(replay.trimEnd().endsWith("data: [DONE]")).toBe(true)
  })

  it.each([
    ["anthropic", "anthropic/claude-3-haiku-20240307", "Hello from fake Claude."],
    ["ollama", "ollama/llama3.2:latest", "Hello from fake Ollama"],
    ["anthropic", "claude-3-haiku-20240307", "Hello from fake Claude."]
  ])("serves a %s provider behind the OpenAI API (model %s, JSON and stream)", async (provider, model, reply) => {
    const only = await startGateway(onlyProviders(fakes, [provider]))
    try {
      const client = only.client()
      const { data, response } = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: unique("hi") }], max_tokens: 50 })
        .withResponse()
      expect(data.choices[0].message.content).toBe(reply)
      expect(response.headers.get("x-llm-provider")).toBe(provider)
      expect(data.usage!.total_tokens).toBeGreaterThan(0)
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: unique("hi") }],
        stream: true,
        stream_options: { include_usage: true }
      })
      let text = ""
      let total = 0
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ""
        total = chunk.usage?.total_tokens ?? total
      }
      expect(text).toBe(reply)
      expect(total).toBeGreaterThan(0)
    } finally {
      await only.close()
    }
  })

  it("a pinned model answers first, whatever the routing strategy", async () => {
    for (const model of ["anthropic/claude-3-haiku-20240307", "openai/gpt-4o-mini", "ollama/llama3.2:latest"]) {
      const { response } = await gw.client().chat.completions
        .create({ model, messages: [{ role: "user", content: unique("pinned") }] })
        .withResponse()
      expect(response.headers.get("x-llm-provider")).toBe(model.split("/")[0])
    }
  })

  it("routes model auto by x-llm-task to the configured chain", async () => {
    const { response } = await gw.client().chat.completions
      .create({ model: "auto", messages: [{ role: "user", content: unique("analyse this") }] }, {
        headers: { "x-llm-task": "general", "x-llm-strategy": "cost" }
      })
      .withResponse()
    expect(["openai", "anthropic", "ollama"]).toContain(response.headers.get("x-llm-provider"))
  })
})

describe("POST /v1/embeddings and GET /v1/models", () => {
  it("embeds with the SDK's default base64 encoding and with floats", async () => {
    const client = gw.client()
    const b64 = await client.embeddings.create({ model: "openai/text-embedding-3-small", input: ["alpha", "beta"] })
    expect(b64.data.map((d) => d.index)).toEqual([0, 1])
    expect(b64.data[0].embedding).toEqual(fakeEmbedding("alpha"))
    expect(b64.usage.prompt_tokens).toBe(2)
    const floats = await client.embeddings.create({ model: "text-embedding-3-small", input: "gamma", encoding_format: "float" })
    expect(floats.data[0].embedding).toEqual(fakeEmbedding("gamma"))
    expect(floats.model).toBe("openai/text-embedding-3-small")
  })

  it("embeds through Ollama", async () => {
    const r = await gw.client().embeddings.create({ model: "ollama/nomic-embed-text:latest", input: "hello", encoding_format: "float" })
    expect(r.data[0].embedding.length).toBeGreaterThan(0)
    expect(r.model).toBe("ollama/nomic-embed-text:latest")
  })

  it("lists every configured model as provider/model", async () => {
    const ids: Array<string> = []
    for await (const m of gw.client().models.list()) ids.push(m.id)
    expect(ids).toEqual(expect.arrayContaining([
      "openai/gpt-4o-mini",
      "openai/text-embedding-3-small",
      "anthropic/claude-3-haiku-20240307",
      "ollama/llama3.2:latest",
      "ollama/nomic-embed-text:latest"
    ]))
  })
})
