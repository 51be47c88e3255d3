/**
 * Wrong answers (issue 11) and deep JSON (issue 20), through the running server with the
 * official `openai` client against the loopback fakes.
 */
import { fakeInputTokens } from "@llm-gateway/testing/FakeAnthropic"
import { fakeTokenCount } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  // the anthropic model carries its own cache rates (the config's model entry schema)
  const config = configFor(fakes) as { providers: Array<{ name: string; models: Array<Record<string, unknown>> }> }
  const providers = config.providers.map((p) =>
    p.name === "anthropic"
      ? { ...p, models: p.models.map((m) => ({ ...m, cachedInputCostPer1M: 0.025, cacheWriteCostPer1M: 0.3125 })) }
      : p
  )
  gw = await startGateway({ ...config, providers } as typeof config)
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

describe("cache key: a named model is never served another model's answer", () => {
  it("auto, then the same prompt naming a model that sorts first among the candidates", async () => {
    const client = gw.client()
    const messages = [{ role: "user" as const, content: unique("which model are you") }]
    // `cost` makes auto pick a cheaper model than claude-3-haiku, which sorts first in the set.
    const auto = await client.chat.completions
      .create({ model: "auto", messages }, { headers: { "x-llm-strategy": "cost" } })
      .withResponse()
    expect(auto.response.headers.get("x-llm-provider")).not.toBe("anthropic")
    const autoAnswer = auto.data.choices[0].message.content

    const named = await client.chat.completions
      .create({ model: "anthropic/claude-3-haiku-20240307", messages }, { headers: { "x-llm-strategy": "cost" } })
      .withResponse()
    expect(named.response.headers.get("x-llm-provider")).toBe("anthropic")
    expect(named.response.headers.get("x-llm-cache")).toBe("miss")
    expect(named.response.headers.get("x-llm-attempts")).toBe("1")
    expect(named.data.choices[0].message.content).toBe("Hello from fake Claude.")

    // Each still hits its own entry.
    const autoAgain = await client.chat.completions
      .create({ model: "auto", messages }, { headers: { "x-llm-strategy": "cost" } })
      .withResponse()
    expect(autoAgain.response.headers.get("x-llm-cache")).toBe("hit")
    expect(autoAgain.data.choices[0].message.content).toBe(autoAnswer)
    const namedAgain = await client.chat.completions.create({ model: "anthropic/claude-3-haiku-20240307", messages }).withResponse()
    expect(namedAgain.response.headers.get("x-llm-cache")).toBe("hit")
    expect(namedAgain.data.choices[0].message.content).toBe("Hello from fake Claude.")
  })
})

describe("usage: cached prompt tokens are reported and priced at the cached rate", () => {
  it("OpenAI's cached and reasoning tokens come back in usage.*_details (JSON and the stream's usage chunk)", async () => {
    fakes.openai.setUsageDetails({ cachedTokens: 2, reasoningTokens: 3 })
    try {
      const content = unique("cached words here")
      const prompt = fakeTokenCount(content)
      const expected = {
        prompt_tokens: prompt,
        completion_tokens: 5 + 3,
        total_tokens: prompt + 8,
        prompt_tokens_details: { cached_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 3 }
      }
      const json = await gw.client().chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content }] })
      expect(json.usage).toEqual(expected)
      const stream = await gw.client().chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: content + " again" }],
        stream: true,
        stream_options: { include_usage: true }
      })
      let usage: unknown
      for await (const chunk of stream) if (chunk.usage) usage = chunk.usage
      expect(usage).toEqual({ ...expected, prompt_tokens: prompt + 1, total_tokens: prompt + 9 })
    } finally {
      fakes.openai.setUsageDetails(undefined)
    }
  })

  it("Anthropic's cache reads and writes: in prompt_tokens, named in the details, billed at the cache rates", async () => {
    fakes.anthropic.configure({ cacheReadInputTokens: 8, cacheCreationInputTokens: 4, outputTokens: 10 })
    try {
      const content = unique("a prompt long enough to hold some cached tokens, with more words")
      const prompt = fakeInputTokens({ model: "m", max_tokens: 1, messages: [{ role: "user", content }] })
      const chat = await gw.client().chat.completions.create({ model: "anthropic/claude-3-haiku-20240307", messages: [{ role: "user", content }] })
      expect(chat.usage).toEqual({
        prompt_tokens: prompt,
        completion_tokens: 10,
        total_tokens: prompt + 10,
        prompt_tokens_details: { cached_tokens: 8, cache_write_tokens: 4 }
      })
      // the seed endpoint shows the cost: fresh, read and written tokens at their own rates
      const seed = await raw(`${gw.url}/api/v1/llm/generate`, {
        body: JSON.stringify({ prompt: content + " (seed)", provider: "anthropic", model: "claude-3-haiku-20240307" })
      })
      const seedPrompt = fakeInputTokens({ model: "m", max_tokens: 1, messages: [{ role: "user", content: content + " (seed)" }] })
      const cost = ((seedPrompt - 12) * 0.25 + 8 * 0.025 + 4 * 0.3125 + 10 * 1.25) / 1e6
      expect(seed.status).toBe(200)
      expect((seed.json as { cost_usd: number }).cost_usd).toBe(Math.round(cost * 1e10) / 1e10)
      expect((seed.json as { cost_usd: number }).cost_usd).toBeLessThan((seedPrompt * 0.25 + 10 * 1.25) / 1e6)
    } finally {
      fakes.anthropic.configure({ cacheReadInputTokens: undefined, cacheCreationInputTokens: undefined, outputTokens: undefined })
    }
  })
})

describe("deep JSON in a request is a 400 naming the field, not a 500", () => {
  // Built as text: JSON.stringify itself recurses and overflows on a value this deep (which is
  // also why the gateway must refuse it before anything serialises it again).
  const deepSchemaJson = (levels: number) =>
    '{"type":"object","properties":{"a":'.repeat(levels) + '{"type":"string"}' + "}}".repeat(levels)
  const deepArrayJson = (levels: number) => "[".repeat(levels) + '"x"' + "]".repeat(levels)

  it("a schema 5,000 levels deep in response_format.json_schema.schema; the server keeps answering", async () => {
    const body = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"deep"}],` +
      `"response_format":{"type":"json_schema","json_schema":{"name":"deep","schema":${deepSchemaJson(5_000)}}}}`
    const res = await raw(`${gw.baseURL}/chat/completions`, { body })
    expect(res.status).toBe(400)
    expect(res.json).toMatchObject({
      error: { type: "InvalidRequest", code: "invalid_request", param: "response_format.json_schema.schema" }
    })
    expect((res.json as { error: { message: string } }).error.message).toContain("response_format.json_schema.schema")
    const after = await gw.client().chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("still up") }] })
    expect(after.choices[0].message.content).toBe("Hello from the fake upstream.")
  })

  it("every route reads its body through the same bound (seed endpoint, embeddings)", async () => {
    const seed = await raw(`${gw.url}/api/v1/llm/generate`, { body: `{"prompt":"hi","metadata":${deepArrayJson(5_000)}}` })
    expect(seed.status).toBe(400)
    expect(seed.json).toMatchObject({ error: { type: "InvalidRequest", param: "metadata[0][0]" } })
    const embeddings = await raw(`${gw.baseURL}/embeddings`, {
      body: `{"model":"openai/text-embedding-3-small","input":${deepArrayJson(5_000)}}`
    })
    expect(embeddings.status).toBe(400)
    expect(embeddings.json).toMatchObject({ error: { param: "input[0][0]" } })
  })
})
