/**
 * `/v1/messages` passed through to an Anthropic deployment (notes/http-api.md "Pass-through"),
 * through the official `@anthropic-ai/sdk` pointed at the gateway: the upstream receives the body
 * as the client sent it (model id aside) with its `anthropic-beta` header, and the client gets
 * Anthropic's answer as it came — thinking signatures byte for byte, prompt-cache usage — while
 * the gateway still routes, falls back, maps errors and prices the upstream's usage in its ledger.
 */
import Anthropic from "@anthropic-ai/sdk"
import { fakeSignature } from "@llm-gateway/testing/FakeAnthropic"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY = "gw-passthrough-key"
const ADMIN = "gw-passthrough-admin"
const CLAUDE = "claude-3-haiku-20240307"
const REF = `anthropic/${CLAUDE}`
// per 1M tokens: input, output, cache read, cache write
const PRICES = { inputCostPer1M: 3, outputCostPer1M: 15, cachedInputCostPer1M: 0.3, cacheWriteCostPer1M: 3.75 }
// the repository's tiny model, in-process: a translated provider that names the stop sequence it met
const modelPath = fileURLToPath(new URL("../../../models/stories260K.gguf", import.meta.url))
const LOCAL = "local/stories260K"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  const base = configFor(fakes) as unknown as { providers: Array<{ name: string; models: Array<Record<string, unknown>> }> }
  const providers = base.providers.map((p) =>
    p.name === "anthropic" ? { ...p, models: [{ id: CLAUDE, contextWindow: 200000, ...PRICES }] } : p
  )
  const local = { name: "local", type: "llamacpp", modelPath, models: [{ id: "stories260K" }] }
  // llama.cpp loads its model on the first request: the attempt timeout leaves room for that on a busy machine
  const routing = { ...(configFor(fakes) as { routing: object }).routing, timeoutMs: 30_000, attemptTimeoutMs: 20_000 }
  gw = await startGateway(configFor(fakes, { providers: [...providers, local], routing, server: { apiKeys: [KEY], adminKeys: [ADMIN] } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})
beforeEach(() => fakes.anthropic.configure({ inputTokens: undefined, cacheReadInputTokens: undefined, outputTokens: undefined }))

const client = (apiKey = KEY) => new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0, timeout: 10_000 })

/** What the fake upstream received last: body and headers. */
const lastUpstream = () => {
  const r = fakes.anthropic.requests.filter((q) => q.path === "/v1/messages").at(-1)!
  return { body: r.body as Record<string, unknown>, headers: r.headers }
}

/** A request using what translation would lose: cache_control, thinking, a beta-only field. */
const richBody = (prompt: string) => ({
  model: CLAUDE,
  max_tokens: 2048,
  system: [{ type: "text" as const, text: "You are terse.", cache_control: { type: "ephemeral" as const } }],
  messages: [{ role: "user" as const, content: [{ type: "text" as const, text: prompt, cache_control: { type: "ephemeral" as const } }] }],
  thinking: { type: "enabled" as const, budget_tokens: 1024 },
  metadata: { user_id: JSON.stringify({ session: "s-1", device: "d-1" }) },
  // a field the gateway has no name for: Claude Code's context management
  ...({ context_management: { edits: [{ type: "clear_tool_uses_20250919" }] } } as object)
})

const BETA = "interleaved-thinking-2025-05-14,context-management-2025-06-27"

describe("POST /v1/messages to an Anthropic deployment passes through", () => {
  it("JSON: the upstream gets the body unchanged but for the model, and the anthropic-beta header; the thinking signature comes back byte for byte", async () => {
    fakes.anthropic.script([{ reasoning: "Think it through.", text: "Forty-two." }])
    const body = richBody(unique("What is the answer?"))
    const { data, response } = await client().messages.create(body, { headers: { "anthropic-beta": BETA } }).withResponse()
    const upstream = lastUpstream()
    // the body as sent (key order included), only the model id rewritten to the upstream's
    expect(JSON.stringify(upstream.body)).toBe(JSON.stringify({ ...body, model: CLAUDE }))
    expect(upstream.headers["anthropic-beta"]).toBe(BETA)
    // the gateway key stays at the gateway; the upstream sees the provider's own
    expect(upstream.headers["x-api-key"]).not.toBe(KEY)
    expect(data.content).toEqual([
      { type: "thinking", thinking: "Think it through.", signature: fakeSignature("Think it through.") },
      { type: "text", text: "Forty-two." }
    ])
    expect(data.id).toMatch(/^msg_fake_/)
    expect(data.model).toBe(REF)
    expect(response.headers.get("x-llm-provider")).toBe("anthropic")
    expect(response.headers.get("x-llm-model")).toBe(CLAUDE)
    // nothing was left out on the way
    expect(response.headers.get("x-llm-ignored-fields")).toBeNull()

    // the signed thinking block goes back on the next turn and reaches the upstream unchanged
    fakes.anthropic.script(["Still forty-two."])
    const next = { ...body, messages: [...body.messages, { role: "assistant" as const, content: data.content }, { role: "user" as const, content: "Sure?" }] }
    const again = await client().messages.create(next, { headers: { "anthropic-beta": BETA } })
    expect(again.content).toEqual([{ type: "text", text: "Still forty-two." }])
    expect(JSON.stringify(lastUpstream().body)).toBe(JSON.stringify({ ...next, model: CLAUDE }))
  })

  it("SSE: messages.stream gets Anthropic's own events (signature_delta included) and a final message with the upstream's usage", async () => {
    fakes.anthropic.script([{ reasoning: "Stream it.", text: "Streamed answer." }])
    const body = richBody(unique("Stream please"))
    const stream = client().messages.stream(body, { headers: { "anthropic-beta": BETA } })
    const events: Array<string> = []
    stream.on("streamEvent", (e) => void events.push(e.type === "content_block_delta" ? `delta:${e.delta.type}` : e.type))
    const final = await stream.finalMessage()
    const upstream = lastUpstream()
    expect(JSON.stringify(upstream.body)).toBe(JSON.stringify({ ...body, model: CLAUDE, stream: true }))
    expect(upstream.headers["anthropic-beta"]).toBe(BETA)
    expect(final.content).toEqual([
      { type: "thinking", thinking: "Stream it.", signature: fakeSignature("Stream it.") },
      { type: "text", text: "Streamed answer." }
    ])
    expect(final.model).toBe(REF)
    expect(events[0]).toBe("message_start")
    expect(events).toContain("delta:signature_delta")
    expect(events.at(-1)).toBe("message_stop")
    expect(final.usage.output_tokens).toBeGreaterThan(0)
  })

  it("prices the upstream's usage, cache reads at the cache rate, in the ledger of the calling key", async () => {
    const created = await raw(`${gw.url}/admin/v1/keys`, {
      body: JSON.stringify({ name: unique("pt") }),
      headers: { authorization: `Bearer ${ADMIN}` }
    })
    const { id, key } = created.json as { id: string; key: string }
    fakes.anthropic.configure({ inputTokens: 1200, cacheReadInputTokens: 1000, outputTokens: 10 })
    const msg = await client(key).messages.create(richBody(unique("cached prefix")))
    // Anthropic's convention, as it came: input_tokens excludes the cache reads
    expect(msg.usage).toMatchObject({ input_tokens: 200, cache_read_input_tokens: 1000, output_tokens: 10 })
    const expected = (200 * PRICES.inputCostPer1M + 1000 * PRICES.cachedInputCostPer1M + 10 * PRICES.outputCostPer1M) / 1e6
    let usage: { totals: { requests: number; costUsd: number }; rows: Array<Record<string, unknown>> } | undefined
    for (const started = Date.now(); Date.now() - started < 5000;) {
      usage = (await raw(`${gw.url}/admin/v1/usage?key=${id}`, { method: "GET", headers: { authorization: `Bearer ${ADMIN}` } })).json as typeof usage
      if (usage!.totals.requests >= 1) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(usage!.totals.requests).toBe(1)
    expect(usage!.totals.costUsd).toBeCloseTo(expected, 9)
    expect(usage!.rows).toEqual([expect.objectContaining({ provider: "anthropic", model: CLAUDE })])
  })

  it("falls back to the translated path when the Anthropic deployment fails before its first byte", async () => {
    fakes.anthropic.fail({ kind: "status", status: 529 })
    const { data, response } = await client().messages.create(richBody(unique("fallback"))).withResponse()
    expect(response.headers.get("x-llm-provider")).toBe("openai")
    expect(data.model).toBe("openai/gpt-4o-mini")
    expect(data.content).toEqual([{ type: "text", text: "Hello from the fake upstream." }])
    // what OpenAI has no meaning for is named, as on any translated answer
    expect(response.headers.get("x-llm-ignored-fields")?.split(",")).toContain("context_management")
  })

  it("upstream errors keep Anthropic's shape: a 400 as invalid_request_error, a mid-stream failure as an in-band error event", async () => {
    fakes.anthropic.fail({ kind: "status", status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "thinking.budget_tokens: too small" } } })
    const err = await client().messages.create(richBody(unique("bad"))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Anthropic.BadRequestError)
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
    expect((err as Error).message).toMatch(/budget_tokens/)

    fakes.anthropic.fail({ kind: "streamError", afterChunks: 1, errorType: "overloaded_error", message: "Overloaded" })
    const res = await raw(`${gw.url}/v1/messages`, {
      headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: CLAUDE, max_tokens: 64, stream: true, messages: [{ role: "user", content: unique("cut") }] })
    })
    expect(res.status).toBe(200)
    expect(res.text).toMatch(/^event: message_start\n/)
    expect(res.text).toContain("event: content_block_delta")
    expect(res.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error"/)
    expect(res.text).not.toContain("message_stop")
  })
})

describe("stop_sequence and message_start's input tokens", () => {
  it("pass-through: Anthropic's own stop_sequence comes back as it sent it", async () => {
    fakes.anthropic.configure({ reply: "one two STOP three" })
    try {
      const msg = await client().messages.create({ model: CLAUDE, max_tokens: 64, stop_sequences: ["STOP"], messages: [{ role: "user", content: unique("count") }] })
      expect(msg).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "STOP", content: [{ type: "text", text: "one two " }] })
    } finally {
      fakes.anthropic.configure({ reply: undefined })
    }
  })

  it("translated (llama.cpp): the stop sequence that ended the answer, in the JSON answer and in message_delta; message_start counts the prompt", async () => {
    const request = {
      model: LOCAL,
      max_tokens: 200,
      temperature: 0,
      stop_sequences: ["zzz-never", "."],
      messages: [{ role: "user" as const, content: "Once upon a time" }]
    }
    const msg = await client().messages.create(request)
    expect(msg).toMatchObject({ model: LOCAL, stop_reason: "stop_sequence", stop_sequence: "." })
    expect((msg.content[0] as { text: string }).text).not.toContain(".")

    const stream = client().messages.stream(request)
    let startInput = -1
    let delta: { stop_reason: string | null; stop_sequence: string | null } | undefined
    stream.on("streamEvent", (e) => {
      if (e.type === "message_start") startInput = e.message.usage.input_tokens
      if (e.type === "message_delta") delta = e.delta
    })
    const final = await stream.finalMessage()
    expect(delta).toEqual({ stop_reason: "stop_sequence", stop_sequence: "." })
    // llama.cpp counts the prompt before answering: message_start already has the final count
    expect(startInput).toBeGreaterThan(0)
    expect(startInput).toBe(final.usage.input_tokens)
  }, 30_000)
})
