/**
 * `/v1/responses` passed through to an `openai` deployment (notes/http-api.md "Pass-through"),
 * through the official `openai` client: FakeOpenAI's `/v1/responses` receives the body as the
 * client sent it (model id aside), the client gets OpenAI's Response and events as they came, and
 * the answer is stored like the gateway's own, so a follow-up may go to another provider.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY = "gw-responses-pt-key"
const OPENAI = "openai/gpt-4o-mini"
const CLAUDE = "anthropic/claude-3-haiku-20240307"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { apiKeys: [KEY] } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const client = () => new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0, timeout: 10_000 })

/** What Codex sends, hosted tools and encrypted reasoning included: all of it is OpenAI's to read. */
const codexLike = (text: string) => ({
  model: OPENAI,
  instructions: "You are a coding agent.",
  input: [{ role: "user" as const, content: [{ type: "input_text" as const, text }] }],
  tools: [{ type: "web_search" as const }],
  include: ["reasoning.encrypted_content" as const],
  reasoning: { effort: "low" as const, summary: "auto" as const },
  prompt_cache_key: "thread-1"
})

describe("POST /v1/responses to an OpenAI deployment passes through", () => {
  it("JSON: the body reaches /v1/responses unchanged but for the model; the Response comes back as sent, and is stored", async () => {
    const body = codexLike(unique("List the files"))
    const { data, response } = await client().responses.create(body).withResponse()
    const sent = fakes.openai.server.requests.filter((r) => r.path === "/v1/responses").at(-1)!
    expect(JSON.stringify(sent.body)).toBe(JSON.stringify({ ...body, model: "gpt-4o-mini" }))
    expect(data.id).toMatch(/^resp_fake_/)
    expect(data.model).toBe(OPENAI)
    expect(data.output_text).toBe("Hello from the fake upstream.")
    expect(response.headers.get("x-llm-provider")).toBe("openai")
    expect(response.headers.get("x-llm-ignored-fields")).toBeNull()
    // recorded like any other answer: GET finds it under its own id
    const stored = await raw(`${gw.baseURL}/responses/${data.id}`, { method: "GET", headers: { authorization: `Bearer ${KEY}` } })
    expect(stored.status).toBe(200)
    expect(stored.json).toMatchObject({ id: data.id, model: OPENAI })

    // a follow-up naming it continues the thread on another provider (the translated way)
    const next = await client().responses.create({ model: CLAUDE, previous_response_id: data.id, input: "And now?" })
    expect(next.model).toBe(CLAUDE)
    const upstream = fakes.anthropic.messageBodies().at(-1)!
    const texts = JSON.stringify(upstream.messages)
    expect(texts).toContain(body.input[0].content[0].text)
    expect(texts).toContain("Hello from the fake upstream.")
    expect(texts).toContain("And now?")
  })

  it("SSE: responses.stream gets OpenAI's own events in order, and the final Response", async () => {
    const body = codexLike(unique("Stream it"))
    const stream = client().responses.stream(body)
    const types: Array<string> = []
    const sequence: Array<number> = []
    stream.on("event", (e) => {
      types.push(e.type)
      sequence.push(e.sequence_number)
    })
    const final = await stream.finalResponse()
    const sent = fakes.openai.server.requests.filter((r) => r.path === "/v1/responses").at(-1)!
    expect(JSON.stringify(sent.body)).toBe(JSON.stringify({ ...body, model: "gpt-4o-mini", stream: true }))
    expect(types[0]).toBe("response.created")
    expect(types).toContain("response.output_text.delta")
    expect(types.at(-1)).toBe("response.completed")
    expect(sequence).toEqual(sequence.map((_, i) => i))
    expect(final.output_text).toBe("Hello from the fake upstream.")
    expect(final.model).toBe(OPENAI)
  })

  it("falls back to the translated path when OpenAI fails before its first byte", async () => {
    fakes.openai.enqueueFault({ kind: "status", status: 500 })
    const { data, response } = await client().responses.create({ model: OPENAI, input: unique("fallback") }).withResponse()
    expect(response.headers.get("x-llm-provider")).toBe("anthropic")
    expect(data.model).toBe(CLAUDE)
    expect(data.output_text).toBe("Hello from fake Claude.")
  })
})
