/**
 * The fake's raw wire format, as any OpenAI client (or the gateway's pass-through path) sees it.
 * The SDK-level behaviour is covered by packages/openai's tests.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type FakeOpenAI, fakeTokenCount, splitReply, startFakeOpenAI } from "../src/FakeOpenAI.ts"

let fake: FakeOpenAI | undefined
afterEach(async () => {
  await fake?.close()
  fake = undefined
})

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${fake!.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })

const events = (text: string) => text.split("\n\n").filter((e) => e.length > 0).map((e) => e.replace(/^data: /, ""))

describe("FakeOpenAI", () => {
  it("streams chat.completion.chunk events, a usage chunk only when asked, then [DONE]", async () => {
    fake = await startFakeOpenAI({ reply: "a b c" })
    const msg = { model: "m", messages: [{ role: "user", content: "one two" }], stream: true }
    const withUsage = events(await (await post("/v1/chat/completions", { ...msg, stream_options: { include_usage: true } })).text())
    expect(withUsage.at(-1)).toBe("[DONE]")
    const parsed = withUsage.slice(0, -1).map((e) => JSON.parse(e))
    expect(parsed.every((c) => c.object === "chat.completion.chunk")).toBe(true)
    expect(parsed.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("a b c")
    expect(parsed.at(-2).choices[0].finish_reason).toBe("stop")
    expect(parsed.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } })
    const without = events(await (await post("/v1/chat/completions", msg)).text())
    expect(without.some((e) => e.includes("\"usage\""))).toBe(false)
  })

  it("applies queued faults in order, one per request, with OpenAI's error body and headers", async () => {
    fake = await startFakeOpenAI()
    fake.enqueueFault({ kind: "status", status: 429, headers: { "retry-after-ms": "250" } })
    fake.enqueueFault({ kind: "status", status: 500 })
    const first = await post("/v1/chat/completions", { model: "m", messages: [] })
    expect(first.status).toBe(429)
    expect(first.headers.get("retry-after-ms")).toBe("250")
    expect(await first.json()).toEqual({ error: { message: expect.any(String), type: "requests", param: null, code: "rate_limit_exceeded" } })
    expect((await post("/v1/chat/completions", { model: "m", messages: [] })).status).toBe(500)
    expect((await post("/v1/chat/completions", { model: "m", messages: [] })).status).toBe(200)
    expect(fake.pendingFaults()).toBe(0)
  })

  it("checks the key, and Azure's api-version", async () => {
    fake = await startFakeOpenAI({ apiKey: "k1" })
    expect((await post("/v1/chat/completions", { model: "m", messages: [] })).status).toBe(401)
    expect((await post("/v1/chat/completions", { model: "m", messages: [] }, { authorization: "Bearer k1" })).status).toBe(200)
    expect((await post("/openai/deployments/d1/chat/completions", { messages: [] }, { "api-key": "k1" })).status).toBe(404)
    const ok = await post("/openai/deployments/d1/chat/completions?api-version=2024-10-21", { messages: [] }, { "api-key": "k1" })
    expect(ok.status).toBe(200)
    expect((await ok.json()).model).toBe("d1")
    expect(fake.azureRequests.at(-1)).toEqual({ deployment: "d1", apiVersion: "2024-10-21", operation: "chat/completions" })
  })

  it("waits latencyMs before answering", async () => {
    fake = await startFakeOpenAI({ latencyMs: 60 })
    const t = performance.now()
    await (await fetch(`${fake.baseUrl}/models`)).json()
    expect(performance.now() - t).toBeGreaterThanOrEqual(55)
  })

  it("counts tokens by words and splits replies losslessly", () => {
    expect(fakeTokenCount("  hello   world\nagain ")).toBe(3)
    expect(splitReply("hello big world")).toEqual(["hello ", "big ", "world"])
    expect(splitReply("abcdefg", 3).join("")).toBe("abcdefg")
    expect(splitReply("abcdefg", 3)).toHaveLength(3)
  })
})
