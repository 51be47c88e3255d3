/**
 * Every row of DESIGN.md's error table, end to end through the running server: bad input is a
 * typed 4xx in OpenAI's envelope, upstream failures map from the LLMError tag, a stream cut
 * after its first chunk ends with an error event.
 */
import {
  AuthenticationFailed,
  ConfigurationError,
  ContextTooLarge,
  InvalidRequest,
  ModelUnavailable,
  NetworkError,
  RateLimitExceeded,
  TimeoutError,
  withAttempts
} from "@llm-gateway/core/domain/LLMError"
import { openAIErrorBody } from "@llm-gateway/testing/FakeOpenAI"
import { Effect } from "effect"
import { loadGatewayConfig } from "llm-gateway/GatewayLayer"
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import type { Fault } from "@llm-gateway/testing/LoopbackServer"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fromLLMError } from "../src/HttpError.ts"
import { CANARY_KEY, configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

let fakes: Fakes
let gw: Gateway
const MAX_BODY = 4096

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { maxBodyBytes: MAX_BODY } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const expectEnvelope = (json: unknown, type: string, code: string) => {
  expect(json).toMatchObject({ error: { type, code, message: expect.any(String) } })
}

const chat = (body: unknown, headers?: Record<string, string>) =>
  raw(`${gw.baseURL}/chat/completions`, { body: typeof body === "string" ? body : JSON.stringify(body), headers })

const hello = [{ role: "user", content: "hello" }]

describe("bad input: 4xx in the error envelope", () => {
  it("malformed JSON is 400 invalid_json", async () => {
    const r = await chat("{\"model\": \"auto\", \"messages\": [")
    expect(r.status).toBe(400)
    expectEnvelope(r.json, "InvalidRequest", "invalid_json")
    const empty = await chat("")
    expect(empty.status).toBe(400)
    expectEnvelope(empty.json, "InvalidRequest", "invalid_json")
  })

  it.each([
    [{ messages: hello }, "model"],
    [{ model: "auto" }, "messages"],
    [{ model: "auto", messages: [] }, "messages"],
    [{ model: "auto", messages: [{ role: "wizard", content: "hi" }] }, "messages[0].role"],
    [{ model: "auto", messages: [{ role: "constructor", content: "hi" }] }, "messages[0].role"],
    [{ model: "auto", messages: [{ role: "user", content: 42 }] }, "messages[0].content"],
    [{ model: "auto", messages: hello, temperature: 7 }, "temperature"],
    [{ model: "auto", messages: hello, max_tokens: -1 }, "max_tokens"],
    [{ model: "auto", messages: hello, stream: "yes" }, "stream"],
    [{ model: "auto", messages: hello, n: 0 }, "n"],
    [{ model: "auto", messages: hello, tools: [{ type: "function" }] }, "tools[0].function"],
    [[1, 2, 3], null]
  ])("a schema violation is 400 invalid_request naming the field (%j → %s)", async (body, param) => {
    const r = await chat(body)
    expect(r.status).toBe(400)
    expectEnvelope(r.json, "InvalidRequest", "invalid_request")
    expect((r.json as { error: { param: unknown } }).error.param).toBe(param)
    if (param !== null) expect((r.json as { error: { message: string } }).error.message).toContain(param)
  })

  it("x-llm-strategy outside cost|performance|balanced is a 400 naming the header", async () => {
    const r = await chat({ model: "auto", messages: hello }, { "x-llm-strategy": "fastest" })
    expect(r.status).toBe(400)
    expect((r.json as { error: { param: string } }).error.param).toBe("x-llm-strategy")
  })

  it("a body over server.maxBodyBytes is 413 payload_too_large, declared or chunked", async () => {
    const big = JSON.stringify({ model: "auto", messages: [{ role: "user", content: "x".repeat(MAX_BODY) }] })
    const declared = await chat(big)
    expect(declared.status).toBe(413)
    expectEnvelope(declared.json, "InvalidRequest", "payload_too_large")
    // No content-length: the body arrives as a stream and is cut off at the limit.
    const bytes = new TextEncoder().encode(big)
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          c.enqueue(bytes.slice(0, 2000))
          c.enqueue(bytes.slice(2000))
          c.close()
        }
      }),
      duplex: "half"
    } as RequestInit)
    expect(res.status).toBe(413)
    expectEnvelope(await res.json(), "InvalidRequest", "payload_too_large")
  })

  it("an unknown model is 404 model_not_found, for chat, embeddings and the seed endpoints", async () => {
    const r = await chat({ model: "nobody/nothing", messages: hello })
    expect(r.status).toBe(404)
    expectEnvelope(r.json, "ModelUnavailable", "model_not_found")
    const e = await raw(`${gw.baseURL}/embeddings`, { body: JSON.stringify({ model: "nobody/nothing", input: "x" }) })
    expect(e.status).toBe(404)
    expectEnvelope(e.json, "ModelUnavailable", "model_not_found")
    const g = await raw(`${gw.url}/api/v1/llm/generate`, { body: JSON.stringify({ prompt: "x", provider: "nobody" }) })
    expect(g.status).toBe(404)
    expectEnvelope(g.json, "ModelUnavailable", "model_not_found")
  })

  it("the official client surfaces the envelope as a typed APIError", async () => {
    const err = await gw.client().chat.completions.create({ model: "nobody/nothing", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found")
  })

  it("unknown paths are 404 and wrong methods 405, both in the envelope", async () => {
    const nf = await raw(`${gw.url}/v2/nothing`, { method: "GET" })
    expect(nf.status).toBe(404)
    expectEnvelope(nf.json, "InvalidRequest", "not_found")
    const na = await raw(`${gw.baseURL}/chat/completions`, { method: "GET" })
    expect(na.status).toBe(405)
    expectEnvelope(na.json, "InvalidRequest", "method_not_allowed")
    // the web console is a known path too: a POST to it is a wrong method, not a missing page
    const ui = await fetch(`${gw.url}/ui`, { method: "POST" })
    expect(ui.status).toBe(405)
    expect(ui.headers.get("allow")).toBe("GET, HEAD, OPTIONS")
    expectEnvelope(await ui.json(), "InvalidRequest", "method_not_allowed")
    expect((await fetch(`${gw.url}/ui/app.js`, { method: "DELETE" })).status).toBe(405)
  })

  it("a wrong server.ui value is quoted in the config error (a setting, never a secret)", async () => {
    const e = await Effect.runPromise(Effect.flip(loadGatewayConfig({ config: { server: { ui: "yes" as never } }, env: {} })))
    expect(e.path).toBe("server.ui")
    expect(e.message).toContain('got "yes"')
  })

})

/** A gateway over one fake OpenAI upstream, no retries, no fallback: each failure surfaces as is. */
const withUpstream = async (
  faults: ReadonlyArray<Fault>,
  f: (gw: Gateway) => Promise<void>,
  models: ReadonlyArray<Record<string, unknown>> = [{ id: "m1" }]
) => {
  const upstream = await startFakeOpenAI({ reply: "one two three four five six", chunks: 6 })
  for (const fault of faults) upstream.enqueueFault(fault)
  const g = await startGateway({
    providers: [{
      name: "up",
      type: "openai-compatible",
      baseUrl: upstream.baseUrl,
      apiKey: CANARY_KEY,
      models
    }],
    routing: { fallbackOrder: ["up/m1"], maxRetries: 0, timeoutMs: 1500, attemptTimeoutMs: 400 },
    cache: { enabled: false },
    conversations: { store: "memory" }
  })
  try {
    await f(g)
  } finally {
    await g.close()
    await upstream.close()
  }
}

const upChat = (g: Gateway, stream = false) =>
  raw(`${g.baseURL}/chat/completions`, {
    body: JSON.stringify({ model: "up/m1", stream, messages: [{ role: "user", content: unique("q") }] })
  })

describe("upstream failures map from the LLMError tag", () => {
  it.each<[string, Fault, number, string, string]>([
    ["upstream 400 → 400 InvalidRequest", { kind: "status", status: 400, body: openAIErrorBody(400, "bad 'temperature'") }, 400, "InvalidRequest", "invalid_request"],
    ["upstream 401 echoing the key → 502 AuthenticationFailed, key scrubbed", { kind: "status", status: 401, body: openAIErrorBody(401, `Incorrect API key provided: ${CANARY_KEY}`) }, 502, "AuthenticationFailed", "upstream_auth_failed"],
    ["connection reset → 502 NetworkError", { kind: "reset" }, 502, "NetworkError", "upstream_unreachable"],
    ["upstream 503 → 503 ModelUnavailable", { kind: "status", status: 503 }, 503, "ModelUnavailable", "model_unavailable"],
    ["upstream hangs → 504 TimeoutError", { kind: "hang" }, 504, "TimeoutError", "timeout"]
  ])("%s", async (_name, fault, status, type, code) => {
    await withUpstream([fault], async (g) => {
      const r = await upChat(g)
      expect(r.status).toBe(status)
      expectEnvelope(r.json, type, code)
      expect(r.text).not.toContain(CANARY_KEY)
      expect(g.logs.join("\n")).not.toContain(CANARY_KEY)
    })
  })

  it("rate limited → 429 rate_limit_exceeded with retry-after in seconds", async () => {
    await withUpstream([{ kind: "status", status: 429, headers: { "retry-after": "7" } }], async (g) => {
      const r = await upChat(g)
      expect(r.status).toBe(429)
      expectEnvelope(r.json, "RateLimitExceeded", "rate_limit_exceeded")
      expect(r.headers.get("retry-after")).toBe("7")
    })
  })

  it("a prompt larger than every candidate's context window → 400 context_length_exceeded", async () => {
    await withUpstream([], async (g) => {
      const r = await raw(`${g.baseURL}/chat/completions`, {
        body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: "word ".repeat(200) }] })
      })
      expect(r.status).toBe(400)
      expectEnvelope(r.json, "ContextTooLarge", "context_length_exceeded")
    }, [{ id: "m1", contextWindow: 50 }])
  })

  it("no embedding model configured → 500 configuration_error", async () => {
    await withUpstream([], async (g) => {
      const r = await raw(`${g.baseURL}/embeddings`, { body: JSON.stringify({ model: "auto", input: "x" }) })
      expect(r.status).toBe(500)
      expectEnvelope(r.json, "ConfigurationError", "configuration_error")
    })
  })

  it("a stream failing before its first chunk gets the status code of its error", async () => {
    await withUpstream([{ kind: "status", status: 503 }], async (g) => {
      const r = await upChat(g, true)
      expect(r.status).toBe(503)
      expectEnvelope(r.json, "ModelUnavailable", "model_unavailable")
    })
  })

  it("a stream cut after its first chunk ends with an SSE error event, not [DONE]", async () => {
    const cut: Fault = { kind: "cutAfter", chunks: 2 }
    await withUpstream([cut, cut], async (g) => {
      const r = await upChat(g, true)
      expect(r.status).toBe(200)
      const events = r.text.split("\n\n").filter((e) => e.length > 0)
      const deltas = events.slice(0, -1).map((e) => JSON.parse(e.slice("data: ".length)).choices[0].delta.content ?? "")
      expect(deltas.join("").length).toBeGreaterThan(0)
      expect(r.text).not.toContain("[DONE]")
      const last = JSON.parse(events.at(-1)!.slice("data: ".length))
      expect(last.error).toMatchObject({ type: expect.any(String), code: expect.any(String) })
      // The official client raises instead of returning a silently truncated answer.
      const stream = await g.client().chat.completions.create({
        model: "up/m1",
        stream: true,
        messages: [{ role: "user", content: unique("q") }]
      })
      const drained = (async () => {
        for await (const _ of stream) { /* drain */ }
      })()
      await expect(drained).rejects.toBeInstanceOf(OpenAI.APIError)
    })
  })
})

describe("fromLLMError: one row per tag", () => {
  it.each([
    [new InvalidRequest({ message: "m", param: "messages" }), 400, "InvalidRequest", "invalid_request"],
    [new ContextTooLarge({ model: "a/b", tokenCount: 9 }), 400, "ContextTooLarge", "context_length_exceeded"],
    [new ModelUnavailable({ model: "x", message: "unknown", status: 404 }), 404, "ModelUnavailable", "model_not_found"],
    [new ModelUnavailable({ model: "a/b", message: "down", status: 503 }), 503, "ModelUnavailable", "model_unavailable"],
    [withAttempts(new ModelUnavailable({ model: "a/b", message: "nf", status: 404 }), [{ model: "a/b", outcome: "ModelUnavailable", ms: 1 }]), 503, "ModelUnavailable", "model_unavailable"],
    [new RateLimitExceeded({ model: "a/b", retryAfter: 1500 }), 429, "RateLimitExceeded", "rate_limit_exceeded"],
    [new AuthenticationFailed({ model: "a/b", message: "no" }), 502, "AuthenticationFailed", "upstream_auth_failed"],
    [new NetworkError({ model: "a/b", message: "refused" }), 502, "NetworkError", "upstream_unreachable"],
    [new TimeoutError({ model: "a/b", timeoutMs: 5 }), 504, "TimeoutError", "timeout"],
    [new ConfigurationError({ message: "bad" }), 500, "ConfigurationError", "configuration_error"]
  ])("%s", (error, status, type, code) => {
    const e = fromLLMError(error)
    expect([e.status, e.type, e.code]).toEqual([status, type, code])
  })

  it("retry-after is whole seconds, at least 1", () => {
    expect(fromLLMError(new RateLimitExceeded({ model: "a", retryAfter: 1500 })).retryAfterSeconds).toBe(2)
    expect(fromLLMError(new RateLimitExceeded({ model: "a", retryAfter: 0 })).retryAfterSeconds).toBe(1)
  })
})
