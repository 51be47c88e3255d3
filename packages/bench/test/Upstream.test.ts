import { performance } from "node:perf_hooks"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { REPLY, startUpstream, type Upstream } from "../src/upstream/Upstream.ts"

describe("bench upstream", () => {
  let upstream: Upstream
  let client: OpenAI
  beforeAll(async () => {
    upstream = await startUpstream({ chunks: 20, chunkIntervalMs: 5 })
    client = new OpenAI({ apiKey: "sk-bench", baseURL: `${upstream.url}/v1`, maxRetries: 0 })
  })
  afterAll(() => upstream.close())

  it("answers a chat completion the real SDK decodes, with usage", async () => {
    const res = await client.chat.completions.create({ model: "bench-fast", messages: [{ role: "user", content: "two words" }] })
    expect(res.choices[0].message.content).toBe(REPLY)
    expect(res.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: REPLY.split(" ").length })
  })

  it("streams the reply in the configured number of chunks, first at once, the rest spaced", async () => {
    const started = performance.now()
    const stream = await client.chat.completions.create({
      model: "bench-stream",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true }
    })
    const deltas: Array<string> = []
    let firstAt = Number.NaN
    let usage: unknown
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta?.content
      if (d !== undefined && d !== null && d !== "") {
        if (deltas.length === 0) firstAt = performance.now() - started
        deltas.push(d)
      }
      if (chunk.usage) usage = chunk.usage
    }
    const total = performance.now() - started
    expect(deltas).toHaveLength(20)
    expect(deltas.join("")).toBe(REPLY)
    expect(usage).toMatchObject({ completion_tokens: REPLY.split(" ").length })
    // 19 gaps of 5 ms after the first chunk; the first comes before the first gap.
    expect(total).toBeGreaterThanOrEqual(19 * 5 - 2)
    expect(firstAt).toBeLessThan(total - 19 * 5 + 5)
  })

  it("streams bench-fast in one write", async () => {
    const res = await fetch(`${upstream.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "bench-fast", messages: [{ role: "user", content: "x" }], stream: true })
    })
    const text = await res.text()
    expect(res.headers.get("content-type")).toBe("text/event-stream")
    expect(text.match(/^data: /gm)).toHaveLength(1 + 20 + 1 + 1)
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true)
  })
})
