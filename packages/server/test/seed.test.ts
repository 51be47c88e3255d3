/**
 * The seed-004 endpoints (generate, chat with conversation ids, status), /metrics with the
 * seeds' metric names, and the health endpoints.
 */
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
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

const post = async (path: string, body: unknown) => {
  const r = await raw(`${gw.url}${path}`, { body: JSON.stringify(body) })
  return { status: r.status, json: r.json as Record<string, any>, headers: r.headers }
}

describe("POST /api/v1/llm/generate", () => {
  it("answers in the seed's shape, honouring provider, max_tokens and use_cache", async () => {
    const prompt = unique("Analyze system metrics")
    const r = await post("/api/v1/llm/generate", { prompt, provider: "ollama", max_tokens: 64, temperature: 0.3, use_cache: true })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({
      text: "Hello from fake Ollama",
      model: "llama3.2:latest",
      provider: "ollama",
      cached: false,
      finish_reason: "stop"
    })
    expect(r.json.tokens_used).toBe(r.json.usage.total_tokens)
    expect(typeof r.json.latency_ms).toBe("number")
    const again = await post("/api/v1/llm/generate", { prompt, provider: "ollama", max_tokens: 64, temperature: 0.3 })
    expect(again.json.cached).toBe(true)
    const fresh = await post("/api/v1/llm/generate", { prompt, provider: "ollama", max_tokens: 64, temperature: 0.3, use_cache: false })
    expect(fresh.json.cached).toBe(false)
    const ollamaOptions = fakes.ollama.chatRequests().at(-1)!.options
    expect(ollamaOptions).toMatchObject({ num_predict: 64, temperature: 0.3 })
  })

  it("rejects a missing prompt naming the field", async () => {
    const r = await post("/api/v1/llm/generate", { provider: "ollama" })
    expect(r.status).toBe(400)
    expect(r.json.error).toMatchObject({ code: "invalid_request", param: "prompt" })
  })
})

describe("POST /api/v1/llm/chat", () => {
  it("keeps a conversation by conversation_id: the second turn is sent with the first", async () => {
    const id = unique("conv")
    const first = await post("/api/v1/llm/chat", {
      conversation_id: id,
      provider: "ollama",
      messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "What is the system status?" }]
    })
    expect(first.status).toBe(200)
    expect(first.json).toMatchObject({ conversation_id: id, message: { role: "assistant", content: "Hello from fake Ollama" } })
    await post("/api/v1/llm/chat", { conversation_id: id, provider: "ollama", message: "And the network?" })
    const sent = fakes.ollama.chatRequests().at(-1)!.messages
    expect(sent.map((m) => m.content)).toEqual([
      "You are terse.",
      "What is the system status?",
      "Hello from fake Ollama",
      "And the network?"
    ])
  })

  it("without a conversation_id sends the messages as given (the seed's stateless chat)", async () => {
    const content = unique("stateless")
    const r = await post("/api/v1/llm/chat", { messages: [{ role: "user", content }], provider: "ollama" })
    expect(r.status).toBe(200)
    expect(r.json.conversation_id).toBeNull()
    expect(fakes.ollama.chatRequests().at(-1)!.messages.at(-1)!.content).toBe(content)
  })
})

describe("GET /api/v1/llm/status", () => {
  it("reports providers (status, requests, success rate, latency, circuit), cache and rate limits", async () => {
    await post("/api/v1/llm/generate", { prompt: unique("x"), provider: "ollama" })
    const r = await raw(`${gw.url}/api/v1/llm/status`, { method: "GET" })
    const s = r.json as Record<string, any>
    expect(Object.keys(s.providers).sort()).toEqual(["anthropic", "ollama", "openai"])
    expect(s.providers.ollama).toMatchObject({ type: "ollama", status: "available", circuit_state: "closed" })
    expect(s.providers.ollama.total_requests).toBeGreaterThan(0)
    expect(s.providers.ollama.success_rate).toBe(1)
    expect(s.providers.ollama.avg_latency_ms).toBeGreaterThanOrEqual(0)
    expect(s.cache).toMatchObject({ size: expect.any(Number), hit_rate: expect.any(Number) })
    expect(s.cache.size).toBeGreaterThan(0)
    expect(s.rate_limits).toEqual({})
    expect(s.models.find((m: any) => m.id === "ollama/llama3.2:latest")).toMatchObject({ circuit_state: "closed" })
  })

  it("shows rate-limit headroom for providers with rpm/tpm", async () => {
    const up = await startFakeOpenAI()
    const limited = await startGateway({
      providers: [{ name: "lim", type: "openai-compatible", baseUrl: up.baseUrl, rpm: 60, tpm: 10000, models: [{ id: "m" }] }],
      conversations: { store: "memory" }
    })
    try {
      await raw(`${limited.baseURL}/chat/completions`, { body: JSON.stringify({ model: "lim/m", messages: [{ role: "user", content: "hi" }] }) })
      const s = (await raw(`${limited.url}/api/v1/llm/status`, { method: "GET" })).json as Record<string, any>
      expect(s.rate_limits.lim.available_requests).toBeLessThan(60)
      expect(s.rate_limits.lim.available_tokens).toBeLessThanOrEqual(10000)
    } finally {
      await limited.close()
      await up.close()
    }
  })
})

describe("operations endpoints", () => {
  it("GET /metrics is Prometheus text with the seeds' metric names", async () => {
    await gw.client().chat.completions.create({ model: "ollama/llama3.2:latest", messages: [{ role: "user", content: unique("m") }] })
    const r = await raw(`${gw.url}/metrics`, { method: "GET" })
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toContain("text/plain")
    for (const name of [
      "llm_provider_requests_total",
      "llm_provider_latency_ms",
      "llm_provider_tokens_total",
      "llm_client_requests_total",
      "llm_client_request_duration_seconds",
      "llm_cache_misses_total",
      "llm_rate_limit_requests_total"
    ]) expect(r.text).toContain(name)
    expect(r.text).toMatch(/llm_provider_requests_total\{[^}]*provider="ollama"/)
  })

  it("GET /health is liveness; GET /health/ready probes each provider", async () => {
    const live = await raw(`${gw.url}/health`, { method: "GET" })
    expect(live.status).toBe(200)
    expect(live.json).toMatchObject({ status: "ok" })
    const ready = await raw(`${gw.url}/health/ready`, { method: "GET" })
    expect(ready.status).toBe(200)
    const body = ready.json as Record<string, any>
    expect(body.status).toBe("ready")
    expect(Object.keys(body.providers).sort()).toEqual(["anthropic", "ollama", "openai"])
    for (const p of Object.values(body.providers) as Array<any>) expect(p.status).toBe("ok")
  })

  it("GET /health/ready is 503 with the reason when no provider answers", async () => {
    const dead = await startGateway({
      providers: [{ name: "gone", type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "m" }] }],
      conversations: { store: "memory" }
    })
    try {
      const r = await raw(`${dead.url}/health/ready`, { method: "GET" })
      expect(r.status).toBe(503)
      const body = r.json as Record<string, any>
      expect(body.status).toBe("not_ready")
      expect(body.providers.gone.status).toBe("error")
      expect(body.providers.gone.error.length).toBeGreaterThan(0)
    } finally {
      await dead.close()
    }
  })
})
