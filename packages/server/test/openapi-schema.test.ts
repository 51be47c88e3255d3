/**
 * Every OpenAI-shaped body the server sends validates against OpenAI's published OpenAPI schema
 * (the committed extract in `@llm-gateway/testing/OpenAISchemas`, ajv in the 2020-12 dialect):
 * chat JSON, every stream chunk and the usage chunk, tool-call answers and tool-call stream chunks
 * from each provider, embeddings (float and base64), the model
 * list and one model, the error envelope of 400/401/404/413/429/5xx answers and the in-band
 * error event of a stream cut mid-way. Bodies are the real bytes off the wire.
 */
import { fakeEmbedding } from "@llm-gateway/testing/FakeOpenAI"
import { openAISchemas } from "@llm-gateway/testing/OpenAISchemas"
import { Ajv2020 } from "ajv/dist/2020.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, onlyProviders, raw, startFakes, startGateway, unique } from "./support/harness.ts"

const KEY = "gw-schema-test-key"

/**
 * The spec's non-standard formats (`unixtime`, `float`) and the two standard ones it uses, so
 * ajv's strict mode accepts the document and still checks what a format can say.
 */
const makeAjv = () => {
  const ajv = new Ajv2020({ allErrors: true, strictTypes: false })
  ajv.addFormat("unixtime", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= 0 })
  ajv.addFormat("float", { type: "number", validate: (n: number) => Number.isFinite(n) })
  ajv.addFormat("date", /^\d{4}-\d{2}-\d{2}$/)
  ajv.addFormat("uri", (s: string) => URL.canParse(s))
  return ajv
}

const ajv = makeAjv()
const fixture = openAISchemas()
const doc = fixture.schema
ajv.addSchema({ ...doc, $id: "https://openai.test/spec" })
/**
 * The documented quirk: `Embedding.embedding` allows only an array of floats, although
 * `encoding_format: "base64"` answers with a base64 string (little-endian float32). A second
 * copy of the document where that one property is such a string validates base64 answers.
 */
const base64Doc = structuredClone(doc) as unknown as { $defs: { Embedding: { properties: Record<string, unknown> } } }
base64Doc.$defs.Embedding.properties.embedding = { type: "string", contentEncoding: "base64", pattern: "^[A-Za-z0-9+/]*={0,2}$" }
ajv.addSchema({ ...base64Doc, $id: "https://openai.test/spec-base64" })

/** The validation errors of `body` against component schema `name` ([] when it conforms). */
const violations = (name: string, body: unknown, spec = "spec"): Array<string> => {
  const validate = ajv.getSchema(`https://openai.test/${spec}#/$defs/${name}`)
  if (validate === undefined) throw new Error(`no schema ${name}`)
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`)
}

const expectValid = (name: string, body: unknown, spec?: string) =>
  expect(violations(name, body, spec), `${name}: ${JSON.stringify(body).slice(0, 400)}`).toEqual([])

/** The `data:` payloads of an SSE body, `[DONE]` excluded. */
const events = (text: string): Array<unknown> =>
  text.split("\n\n").filter((e) => e.startsWith("data: ") && e !== "data: [DONE]").map((e) => JSON.parse(e.slice(6)))

let fakes: Fakes
let gw: Gateway
/** Only the OpenAI fake, no fallback, no retries: an injected fault surfaces as is. */
let single: Gateway
const auth = { authorization: `Bearer ${KEY}` }

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { apiKeys: [KEY], maxBodyBytes: 4096 } }))
  single = await startGateway(onlyProviders(fakes, ["openai"], { server: { apiKeys: [KEY] }, cache: { enabled: false } }))
})
afterAll(async () => {
  await gw?.close()
  await single?.close()
  await fakes?.close()
})

describe("the fixture", () => {
  it("holds every root schema, from OpenAI API 2.3.0", () => {
    expect(fixture.source.version).toBe("2.3.0")
    for (const root of fixture.source.roots) expect(ajv.getSchema(`https://openai.test/spec#/$defs/${root}`)).toBeDefined()
  })

  it("rejects what OpenAI's clients would choke on (the validator is not a no-op)", () => {
    expect(violations("CreateChatCompletionResponse", { id: "x", object: "chat.completion", created: 1, model: "m", choices: [], system_fingerprint: null })).not.toEqual([])
    expect(violations("ErrorResponse", { error: { message: "m", type: "t" } })).not.toEqual([])
  })
})

describe("chat completions", () => {
  for (const model of ["openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307", "ollama/llama3.2:latest"]) {
    it(`JSON answer from ${model}`, async () => {
      const res = await gw.client(KEY).chat.completions
        .create({ model, messages: [{ role: "user", content: unique("schema json") }] })
        .asResponse()
      expect(res.status).toBe(200)
      expectValid("CreateChatCompletionResponse", await res.json())
    })

    it(`every stream chunk and the usage chunk from ${model}`, async () => {
      const res = await gw.client(KEY).chat.completions
        .create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: unique("schema stream") }] })
        .asResponse()
      const chunks = events(await res.text())
      expect(chunks.length).toBeGreaterThan(2)
      for (const chunk of chunks) expectValid("CreateChatCompletionStreamResponse", chunk)
      const last = chunks.at(-1) as { choices: Array<unknown>; usage?: unknown }
      expect(last.choices).toEqual([])
      expect(last.usage).toBeDefined()
    })
  }

  it("a cache hit (JSON and replayed stream) is as valid as the miss", async () => {
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user" as const, content: unique("schema cached") }] }
    await gw.client(KEY).chat.completions.create(body)
    const hit = await gw.client(KEY).chat.completions.create(body).asResponse()
    expect(hit.headers.get("x-llm-cache")).toBe("hit")
    expectValid("CreateChatCompletionResponse", await hit.json())
    const stream = await gw.client(KEY).chat.completions.create({ ...body, stream: true }).asResponse()
    expect(stream.headers.get("x-llm-cache")).toBe("hit")
    for (const chunk of events(await stream.text())) expectValid("CreateChatCompletionStreamResponse", chunk)
  })
})

describe("tool calls", () => {
  const tools = [{
    type: "function" as const,
    function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }
  }]
  const scripted = (model: string) => {
    const fake = fakes[model.slice(0, model.indexOf("/")) as "openai" | "anthropic" | "ollama"]
    fake.script([{ toolCalls: [{ name: "get_weather", arguments: { city: "Lisbon, Portugal" } }] }])
  }

  it("the validator checks tool calls (a call without arguments is refused)", () => {
    const call = { id: "call_1", type: "function", function: { name: "get_weather" } }
    const message = { role: "assistant", content: null, refusal: null, tool_calls: [call] }
    const body = { id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message, finish_reason: "tool_calls", logprobs: null }] }
    expect(violations("CreateChatCompletionResponse", body)).not.toEqual([])
    call.function = { ...call.function, arguments: "{}" } as typeof call.function
    expect(violations("CreateChatCompletionResponse", body)).toEqual([])
  })

  for (const model of ["openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307", "ollama/llama3.2:latest"]) {
    it(`a tool-call answer from ${model}`, async () => {
      scripted(model)
      const res = await gw.client(KEY).chat.completions
        .create({ model, tools, messages: [{ role: "user", content: unique("schema tool json") }] })
        .asResponse()
      expect(res.status).toBe(200)
      const body = (await res.json()) as { choices: Array<{ finish_reason: string; message: { tool_calls?: Array<{ function: { arguments: string } }> } }> }
      expect(body.choices[0].finish_reason).toBe("tool_calls")
      expect(JSON.parse(body.choices[0].message.tool_calls?.[0].function.arguments ?? "null")).toEqual({ city: "Lisbon, Portugal" })
      expectValid("CreateChatCompletionResponse", body)
    })

    it(`every tool-call stream chunk from ${model}`, async () => {
      scripted(model)
      const res = await gw.client(KEY).chat.completions
        .create({ model, tools, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: unique("schema tool stream") }] })
        .asResponse()
      const chunks = events(await res.text()) as Array<{ choices: Array<{ delta: { tool_calls?: Array<{ function?: { arguments?: string } }> }; finish_reason: string | null }> }>
      const withCalls = chunks.filter((c) => c.choices[0]?.delta.tool_calls !== undefined)
      expect(withCalls.length).toBeGreaterThan(0)
      const args = withCalls.map((c) => c.choices[0].delta.tool_calls?.[0].function?.arguments ?? "").join("")
      expect(JSON.parse(args)).toEqual({ city: "Lisbon, Portugal" })
      expect(chunks.some((c) => c.choices[0]?.finish_reason === "tool_calls")).toBe(true)
      for (const chunk of chunks) expectValid("CreateChatCompletionStreamResponse", chunk)
    })
  }
})

describe("embeddings", () => {
  it("float", async () => {
    const res = await gw.client(KEY).embeddings.create({ model: "openai/text-embedding-3-small", input: ["a", "b"], encoding_format: "float" }).asResponse()
    expectValid("CreateEmbeddingResponse", await res.json())
  })

  it("base64: a string the spec's Embedding does not allow, validated against the documented variant", async () => {
    const res = await gw.client(KEY).embeddings.create({ model: "openai/text-embedding-3-small", input: "hello", encoding_format: "base64" }).asResponse()
    const body = (await res.json()) as { data: Array<{ embedding: string }> }
    expect(typeof body.data[0].embedding).toBe("string")
    // The quirk is real in this spec version: the unmodified schema refuses the string.
    expect(violations("CreateEmbeddingResponse", body)).not.toEqual([])
    expectValid("CreateEmbeddingResponse", body, "spec-base64")
    // and the string is the float vector, as little-endian float32
    const bytes = Buffer.from(body.data[0].embedding, "base64")
    const floats = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4))
    expect(floats).toEqual(Array.from(Float32Array.from(fakeEmbedding("hello"))))
  })
})

describe("models", () => {
  it("the list and each model object", async () => {
    const list = await raw(`${gw.baseURL}/models`, { method: "GET", headers: auth })
    expectValid("ListModelsResponse", list.json)
    const ids = (list.json as { data: Array<{ id: string }> }).data.map((m) => m.id)
    expect(ids).toContain("openai/gpt-4o-mini")
    for (const id of ids) {
      const one = await raw(`${gw.baseURL}/models/${encodeURIComponent(id)}`, { method: "GET", headers: auth })
      expect(one.status).toBe(200)
      expectValid("Model", one.json)
    }
  })
})

describe("the error envelope", () => {
  const chat = (g: Gateway, body: unknown, headers: Record<string, string> = auth) =>
    raw(`${g.baseURL}/chat/completions`, { body: typeof body === "string" ? body : JSON.stringify(body), headers })
  const hello = (model = "openai/gpt-4o-mini") => ({ model, messages: [{ role: "user", content: unique("schema error") }] })

  it.each<[string, () => Promise<{ status: number; json: unknown }>, number]>([
    ["400 invalid_json", () => chat(gw, "{"), 400],
    ["400 invalid_request", () => chat(gw, { model: "auto", messages: [{ role: "wizard", content: "x" }] }), 400],
    ["401 invalid_api_key", () => chat(gw, hello(), {}), 401],
    ["404 model_not_found (chat)", () => chat(gw, hello("nope/nothing")), 404],
    ["404 model_not_found (GET /v1/models/{model})", () => raw(`${gw.baseURL}/models/nope%2Fnothing`, { method: "GET", headers: auth }), 404],
    ["404 not_found (route)", () => raw(`${gw.url}/v2/nothing`, { method: "GET", headers: auth }), 404],
    ["405 method_not_allowed", () => raw(`${gw.baseURL}/chat/completions`, { method: "GET", headers: auth }), 405],
    ["413 payload_too_large", () => chat(gw, { ...hello(), pad: "x".repeat(5000) }), 413]
  ])("%s", async (_name, send, status) => {
    const r = await send()
    expect(r.status).toBe(status)
    expectValid("ErrorResponse", r.json)
  })

  it.each<[string, Parameters<Fakes["openai"]["enqueueFault"]>[0], number]>([
    ["429 rate_limit_exceeded", { kind: "status", status: 429, headers: { "retry-after": "3" } }, 429],
    ["502 upstream_unreachable", { kind: "reset" }, 502],
    ["503 model_unavailable", { kind: "status", status: 503 }, 503]
  ])("upstream fault → %s", async (_name, fault, status) => {
    fakes.openai.enqueueFault(fault)
    const r = await chat(single, hello())
    expect(r.status).toBe(status)
    expectValid("ErrorResponse", r.json)
  })

  it("the in-band error event of a stream cut after its first chunk", async () => {
    fakes.openai.enqueueFault({ kind: "cutAfter", chunks: 1 })
    const res = await raw(`${single.baseURL}/chat/completions`, {
      body: JSON.stringify({ ...hello(), stream: true }),
      headers: auth
    })
    expect(res.status).toBe(200)
    const all = events(res.text)
    const last = all.at(-1) as { error?: unknown }
    expect(last.error).toBeDefined()
    for (const chunk of all.slice(0, -1)) expectValid("CreateChatCompletionStreamResponse", chunk)
    expectValid("ErrorResponse", last)
  })
})
