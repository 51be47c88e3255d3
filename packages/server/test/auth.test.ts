/**
 * Gateway keys (server.apiKeys) and the secret rule: a provider key never leaves the server —
 * not in a response body or header, /metrics, /api/v1/llm/status, nor a log line.
 */
import { openAIErrorBody } from "@llm-gateway/testing/FakeOpenAI"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CANARY_KEY, configFor, type Fakes, type Gateway, onlyProviders, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY_A = "gw-tenant-a-0123456789"
const KEY_B = "gw-tenant-b-9876543210"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { apiKeys: [KEY_A, KEY_B] } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const modelEndpoints = [
  ["POST", "/v1/chat/completions"],
  ["POST", "/v1/embeddings"],
  ["GET", "/v1/models"],
  ["POST", "/api/v1/llm/generate"],
  ["POST", "/api/v1/llm/chat"],
  ["GET", "/api/v1/llm/status"]
] as const

describe("gateway keys", () => {
  it.each(modelEndpoints)("%s %s needs Authorization: Bearer <key> (401 invalid_api_key otherwise)", async (method, path) => {
    for (const headers of [{}, { authorization: "Bearer wrong-key-000000" }, { authorization: KEY_A }] as Array<Record<string, string>>) {
      const r = await raw(`${gw.url}${path}`, { method, body: method === "POST" ? "{}" : undefined, headers })
      expect(r.status).toBe(401)
      expect(r.json).toMatchObject({ error: { type: "AuthenticationFailed", code: "invalid_api_key" } })
      expect(r.headers.get("www-authenticate")).toBe("Bearer")
    }
  })

  it("the official client with a configured key is served; with another key it gets AuthenticationError", async () => {
    const ok = await gw.client(KEY_A).chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("hi") }] })
    expect(ok.choices[0].message.content).toBe("Hello from the fake upstream.")
    const err = await gw.client("nope-nope-nope").models.list().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
  })

  it("health and metrics stay open for probes and scrapers", async () => {
    expect((await raw(`${gw.url}/health`, { method: "GET" })).status).toBe(200)
    expect((await raw(`${gw.url}/metrics`, { method: "GET" })).status).toBe(200)
  })

  it("the key is the tenant scope: one tenant's cached answer is not another's", async () => {
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user" as const, content: unique("tenant") }] }
    const a1 = await gw.client(KEY_A).chat.completions.create(body).withResponse()
    const a2 = await gw.client(KEY_A).chat.completions.create(body).withResponse()
    const b1 = await gw.client(KEY_B).chat.completions.create(body).withResponse()
    expect(a1.response.headers.get("x-llm-cache")).toBe("miss")
    expect(a2.response.headers.get("x-llm-cache")).toBe("hit")
    expect(b1.response.headers.get("x-llm-cache")).toBe("miss")
  })
})

describe("tenants", () => {
  it("a conversation id is per tenant: another key with the same id starts a new conversation", async () => {
    const only = await startGateway(onlyProviders(fakes, ["ollama"], { server: { apiKeys: [KEY_A, KEY_B] } }))
    try {
      const id = unique("shared-id")
      const say = (key: string, message: string) =>
        raw(`${only.url}/api/v1/llm/chat`, {
          body: JSON.stringify({ conversation_id: id, message, provider: "ollama" }),
          headers: { authorization: `Bearer ${key}` }
        })
      const a = await say(KEY_A, "tenant A's secret plan")
      expect(a.status).toBe(200)
      expect((a.json as { conversation_id: string }).conversation_id).toBe(id)
      await say(KEY_B, "hello from B")
      expect(fakes.ollama.chatRequests().at(-1)!.messages.map((m) => m.content)).toEqual(["hello from B"])
      await say(KEY_A, "and then?")
      expect(fakes.ollama.chatRequests().at(-1)!.messages.map((m) => m.content)).toEqual([
        "tenant A's secret plan",
        "Hello from fake Ollama",
        "and then?"
      ])
    } finally {
      await only.close()
    }
  })
})

describe("the secret rule", () => {
  it("a canary provider key appears in no response, header, status, metrics or log line", async () => {
    // One provider only, so each injected upstream fault meets the request it was meant for.
    const gw = await startGateway(onlyProviders(fakes, ["openai"], { server: { apiKeys: [KEY_A] } }))
    const seen: Array<string> = []
    const record = (r: { text: string; headers: Headers }) => {
      seen.push(r.text)
      r.headers.forEach((v, k) => seen.push(`${k}: ${v}`))
    }
    const auth = { authorization: `Bearer ${KEY_A}` }
    const post = async (path: string, body: unknown) => record(await raw(`${gw.url}${path}`, { body: JSON.stringify(body), headers: auth }))
    const get = async (path: string) => record(await raw(`${gw.url}${path}`, { method: "GET", headers: auth }))

    // Upstream failures whose messages echo the key: rejected (400), auth (401), mid-stream cut.
    fakes.openai.enqueueFault({ kind: "status", status: 401, body: openAIErrorBody(401, `Incorrect API key provided: ${CANARY_KEY}`) })
    await post("/v1/chat/completions", { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("a") }] })
    fakes.openai.enqueueFault({ kind: "status", status: 400, body: openAIErrorBody(400, `bad request for key ${CANARY_KEY}`) })
    await post("/v1/chat/completions", { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("b") }] })
    fakes.openai.enqueueFault({ kind: "cutAfter", chunks: 1 })
    await post("/v1/chat/completions", { model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: unique("c") }] })
    // And every ordinary endpoint.
    await post("/v1/chat/completions", { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("d") }] })
    await post("/v1/embeddings", { model: "openai/text-embedding-3-small", input: "x" })
    await post("/api/v1/llm/generate", { prompt: unique("e"), provider: "openai" })
    await post("/api/v1/llm/chat", { messages: [{ role: "user", content: unique("f") }], conversation_id: unique("conv") })
    for (const path of ["/v1/models", "/api/v1/llm/status", "/metrics", "/health", "/health/ready", "/nowhere"]) await get(path)

    expect(seen.length).toBeGreaterThan(20)
    expect(gw.logs.length).toBeGreaterThan(0)
    for (const text of [...seen, ...gw.logs]) {
      expect(text).not.toContain(CANARY_KEY)
      expect(text).not.toContain(KEY_A)
    }
    await gw.close()
  })
})
