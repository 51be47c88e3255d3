/**
 * What is specific to having two chat transports: the direct path sends what the SDK sends and
 * reads what the SDK reads (parity on odd upstream answers), the option selects the path, and
 * the direct path's own plumbing (Pool bounds and lifetime, keep-alive after `[DONE]`, redirects,
 * bytes split mid-character) behaves.
 */
import { describe, expect, it } from "@effect/vitest"
import type { LLMError } from "@llm-gateway/core/domain/LLMError"
import type { ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import { fakeTokenCount } from "@llm-gateway/testing/FakeOpenAI"
import { loopbackServer } from "@llm-gateway/testing/LoopbackServer"
import { Effect, Redacted, Stream } from "effect"
import type * as Http from "node:http"
import { makeOpenAIClient } from "../src/OpenAIClient.ts"
import { ask, CANARY, eachTransport, fixtureFor, providerConfig } from "./fixtures.ts"

interface Scripted {
  readonly status: number
  readonly body: string
  readonly headers?: Record<string, string>
}

/** A loopback upstream that answers every request with the current script and records the raw request. */
const scriptedUpstream = Effect.gen(function*() {
  let script: Scripted = { status: 200, body: "" }
  const seen: Array<{ url: string; headers: Http.IncomingHttpHeaders; body: unknown }> = []
  const server = yield* loopbackServer(({ req, res, body }) => {
    seen.push({ url: req.url ?? "", headers: req.headers, body })
    res.writeHead(script.status, { "content-length": Buffer.byteLength(script.body), ...script.headers })
    res.end(script.body)
  })
  return { server, seen, answer: (next: Scripted) => void (script = next) }
})

/** Everything of an error a caller acts on or sees. */
const observable = (e: LLMError) => ({ ...e, message: e.message })

const bothClients = (baseUrl: string, overrides = {}) =>
  Effect.all([
    makeOpenAIClient(providerConfig(baseUrl, overrides), { transport: "direct" }),
    makeOpenAIClient(providerConfig(baseUrl, overrides), { transport: "sdk" })
  ])

const collect = (client: ModelClientShape, content: string) =>
  Effect.map(Stream.runCollect(client.stream(ask(content))), (chunks) => Array.from(chunks))

const oddAnswers: ReadonlyArray<readonly [string, Scripted]> = [
  ["a plain-text 502 from a proxy", { status: 502, body: "Bad Gateway", headers: { "content-type": "text/plain" } }],
  ["an empty 503", { status: 503, body: "" }],
  ["FastAPI's `{ detail }` 404 (vLLM)", { status: 404, body: JSON.stringify({ detail: "Not Found" }) }],
  ["`{ error: string }` 503", { status: 503, body: JSON.stringify({ error: "model is loading" }) }],
  ["a bare `{ message, code, param }` 400", {
    status: 400,
    body: JSON.stringify({ message: "Invalid 'temperature'", code: "invalid_value", param: "temperature" })
  }],
  ["a bare 400 about the context, counts in the text", {
    status: 400,
    body: JSON.stringify({ message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens." })
  }],
  ["a non-string message", { status: 500, body: JSON.stringify({ error: { message: { reason: "nested" } } }) }],
  ["a JSON `null`", { status: 500, body: "null" }],
  ["an HTML 413 echoing the key", { status: 413, body: `<html>too large for ${CANARY}</html>` }],
  ["a 429 with retry-after and x-should-retry", {
    status: 429,
    body: JSON.stringify({ error: { message: "slow down", code: "rate_limit_exceeded" } }),
    headers: { "retry-after": "3", "x-should-retry": "false" }
  }]
]

describe("direct and SDK transports agree", () => {
  for (const [name, answer] of oddAnswers) {
    it.live(`same LLMError for ${name}`, () =>
      Effect.gen(function*() {
        const upstream = yield* scriptedUpstream
        upstream.answer(answer)
        const [direct, sdk] = yield* bothClients(`${upstream.server.url}/v1`)
        const fromDirect = yield* Effect.flip(direct.generate(ask("x")))
        const fromSdk = yield* Effect.flip(sdk.generate(ask("x")))
        expect(observable(fromDirect)).toEqual(observable(fromSdk))
        expect(fromDirect.message).not.toContain(CANARY)
        const streamed = yield* Effect.flip(collect(direct, "x"))
        expect(observable(streamed)).toEqual(observable(fromSdk))
      }))
  }

  it.live("same request line, body and headers (query from the base URL, configured headers over the key)", () =>
    Effect.gen(function*() {
      const upstream = yield* scriptedUpstream
      const completion = {
        id: "c",
        object: "chat.completion",
        created: 0,
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
      }
      upstream.answer({ status: 200, body: JSON.stringify(completion), headers: { "content-type": "application/json" } })
      const [direct, sdk] = yield* bothClients(`${upstream.server.url}/v1/chat/completions?tenant=a%20b&region=eu`, {
        headers: { "X-Proxy-Token": Redacted.make("proxy-secret-123"), "OpenAI-Beta": Redacted.make("assistants=v2") }
      })
      const req = { ...ask("hi", { maxTokens: 5 }), temperature: 0.3, stop: ["\n"] }
      expect(yield* direct.generate(req)).toEqual(yield* sdk.generate(req))
      const [fromDirect, fromSdk] = upstream.seen
      expect(fromDirect.url).toBe(fromSdk.url)
      expect(fromDirect.url).toBe("/v1/chat/completions?tenant=a%20b&region=eu")
      expect(fromDirect.body).toEqual(fromSdk.body)
      for (const name of ["authorization", "content-type", "accept", "x-proxy-token", "openai-beta"]) {
        expect([name, fromDirect.headers[name]]).toEqual([name, fromSdk.headers[name]])
      }
      expect(fromDirect.headers.authorization).toBe(`Bearer ${CANARY}`)
      expect(fromDirect.headers["x-proxy-token"]).toBe("proxy-secret-123")
    }))

  it.live("a configured Authorization header replaces the bearer key on both", () =>
    Effect.gen(function*() {
      const upstream = yield* scriptedUpstream
      upstream.answer({ status: 401, body: "" })
      const [direct, sdk] = yield* bothClients(`${upstream.server.url}/v1`, {
        headers: { Authorization: Redacted.make("Basic dXNlcjpwYXNz") }
      })
      yield* Effect.flip(direct.generate(ask("x")))
      yield* Effect.flip(sdk.generate(ask("x")))
      expect(upstream.seen.map((r) => r.headers.authorization)).toEqual(["Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"])
    }))
})

describe("transport option", () => {
  it.live("direct by default, the SDK on request, and always the SDK for Azure", () =>
    Effect.gen(function*() {
      const upstream = yield* scriptedUpstream
      upstream.answer({ status: 500, body: "" })
      const url = upstream.server.url
      const clients = [
        yield* makeOpenAIClient(providerConfig(`${url}/v1`)),
        yield* makeOpenAIClient(providerConfig(`${url}/v1`), { transport: "sdk" }),
        yield* makeOpenAIClient(providerConfig(url, { type: "azure-openai" }), { transport: "direct" })
      ]
      for (const client of clients) yield* Effect.flip(client.generate(ask("x")))
      // The user agent is the one visible difference: the SDK names itself.
      expect(upstream.seen.map((r) => /OpenAI\/JS/.test(String(r.headers["user-agent"])))).toEqual([false, true, true])
      expect(upstream.seen[2].headers["api-key"]).toBe(CANARY)
    }))
})

describe("direct transport", () => {
  it.live("a redirect is not followed: NetworkError telling to fix the base URL", () =>
    Effect.gen(function*() {
      const upstream = yield* scriptedUpstream
      upstream.answer({ status: 307, body: "", headers: { location: "https://elsewhere.example/v1/chat/completions" } })
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${upstream.server.url}/v1`))
      const error = yield* Effect.flip(client.generate(ask("x")))
      expect(error).toMatchObject({ _tag: "NetworkError", message: "307 redirect from upstream: point baseUrl at its final address" })
      expect(error.isRetryable).toBe(true)
    }))

  it.live("a stream that reached [DONE] keeps its connection, even when the response ends later", () =>
    Effect.gen(function*() {
      const server = yield* loopbackServer(({ res }) => {
        const frame = (body: object) => `data: ${JSON.stringify(body)}\n\n`
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(
          frame({ choices: [{ index: 0, delta: { content: "done " }, finish_reason: null }] }) +
            frame({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
            "data: [DONE]\n\n"
        )
        setTimeout(() => res.end(), 50)
      })
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${server.url}/v1`))
      const chunks = yield* collect(client, "x")
      expect(chunks.map((c) => c.delta)).toEqual(["done ", ""])
      expect(chunks[1].finishReason).toBe("stop")
      yield* Effect.sleep(150)
      yield* collect(client, "again")
      expect(server.closedConnections()).toBe(0)
      expect(server.openConnections()).toBe(1)
    }))
})

eachTransport("connections", (t) => {
  it.live("`connections` bounds the sockets to the upstream; concurrent calls queue on them", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ fake: { latencyMs: 20 }, client: { connections: 2 } })
      const results = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => i % 2 === 0 ? client.generate(ask(`q${i}`)) : Effect.map(collect(client, `q${i}`), (c) => c.at(-1))),
        { concurrency: "unbounded" }
      )
      expect(results.every((r) => r !== undefined && r.finishReason === "stop")).toBe(true)
      expect(fake.server.openConnections() + fake.server.closedConnections()).toBeLessThanOrEqual(2)
    }))

  it.live("closing the client's scope closes its connections", () =>
    Effect.gen(function*() {
      const { fake } = yield* t.setup()
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* t.makeClient(providerConfig(fake.baseUrl))
        yield* client.generate(ask("x"))
        expect(fake.server.openConnections()).toBe(1)
      }))
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      expect(fake.server.openConnections()).toBe(0)
    }))
})

eachTransport("stream bytes", (t) => {
  it.live("characters split across network chunks arrive whole", () =>
    Effect.gen(function*() {
      const reply = "héllo wörld 🎉 日本語"
      const server = yield* loopbackServer(async ({ res }) => {
        const frame = (body: object) => `data: ${JSON.stringify(body)}\n\n`
        const bytes = Buffer.from(
          frame({ choices: [{ index: 0, delta: { content: reply }, finish_reason: null }] }) +
            frame({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
            "data: [DONE]\n\n"
        )
        // Cut inside the 4-byte emoji, then inside a 3-byte kanji.
        const emoji = bytes.indexOf(Buffer.from("🎉")) + 2
        const kanji = bytes.indexOf(Buffer.from("本")) + 1
        res.writeHead(200, { "content-type": "text/event-stream" })
        for (const part of [bytes.subarray(0, emoji), bytes.subarray(emoji, kanji), bytes.subarray(kanji)]) {
          res.write(part)
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        res.end()
      })
      const client = yield* t.makeClient(providerConfig(`${server.url}/v1`))
      const chunks = yield* collect(client, "x")
      expect(chunks.map((c) => c.delta).join("")).toBe(reply)
    }))

  it.live("a long answer (past the backpressure mark) is delivered whole and in order, usage exact", () =>
    Effect.gen(function*() {
      const reply = Array.from({ length: 1500 }, (_, i) => `t${i}`).join(" ")
      const { client } = yield* t.setup({ fake: { reply } })
      let text = ""
      let last: unknown
      yield* Stream.runForEach(client.stream(ask("go")), (c) =>
        Effect.sync(() => {
          text += c.delta
          last = c
        }))
      expect(text).toBe(reply)
      expect(last).toMatchObject({ finishReason: "stop", usage: { completionTokens: fakeTokenCount(reply) } })
    }))
})

describe("the router's time bounds on the direct transport (timeoutMs, stallTimeoutMs)", () => {
  const frame = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
  const end = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`
  /** An upstream that writes the head at once, then each content frame after its delay (ms). */
  const pacedUpstream = (delays: ReadonlyArray<number>) =>
    loopbackServer(async ({ res }) => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      for (const [i, ms] of delays.entries()) {
        await new Promise((resolve) => setTimeout(resolve, ms))
        if (res.destroyed) return
        res.write(frame(`c${i} `))
      }
      res.end(end)
    })
  const timed = (req: { timeoutMs?: number; stallTimeoutMs?: number }) => ({ ...ask("x"), ...req })

  it.live("a pull that waits stallTimeoutMs after the first chunk fails with TimeoutError, and the request is aborted", () =>
    Effect.gen(function*() {
      const server = yield* pacedUpstream([0, 3_000])
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${server.url}/v1`))
      const seen: Array<string> = []
      const error = yield* Effect.flip(Stream.runForEach(client.stream(timed({ timeoutMs: 2_000, stallTimeoutMs: 150 })), (c) =>
        Effect.sync(() => void seen.push(c.delta))))
      expect(seen).toEqual(["c0 "])
      expect(error).toMatchObject({ _tag: "TimeoutError", timeoutMs: 150, message: "stream stalled for 150 ms" })
      yield* Effect.promise(() => server.waitForClosedConnections(1, 2_000))
    }))

  it.live("no first chunk within timeoutMs fails with TimeoutError before anything is delivered", () =>
    Effect.gen(function*() {
      const server = yield* pacedUpstream([3_000])
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${server.url}/v1`))
      const error = yield* Effect.flip(Stream.runCollect(client.stream(timed({ timeoutMs: 150, stallTimeoutMs: 5_000 }))))
      expect(error).toMatchObject({ _tag: "TimeoutError", timeoutMs: 150, message: "no answer within 150 ms" })
    }))

  // The request's own bounds switch undici's timers off only when they are at least as tight as the
  // client's timeoutMs (direct.ts `dispatchOptions`); else the pool's timers still cut a hung upstream.
  const hungUpstream = loopbackServer(async () => {
    await new Promise(() => undefined) // answers nothing, ever
  })
  /** The call's exit, or "hung" if it has none after 3 s (the client's bound is 300 ms). */
  const within3s = <A>(call: Effect.Effect<A, LLMError>) => Effect.timeoutOrElse(Effect.exit(call), { duration: 3_000, orElse: () => Effect.succeed("hung" as const) })

  it.live("without bounds of its own, or with looser ones, a hung upstream is still cut at the client's timeoutMs", () =>
    Effect.gen(function*() {
      const server = yield* hungUpstream
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${server.url}/v1`), { timeoutMs: 300 })
      for (const req of [timed({}), timed({ timeoutMs: 10_000 })]) {
        const exit = yield* within3s(client.generate(req))
        expect(exit).not.toBe("hung")
        expect(exit).toMatchObject({ _tag: "Failure" })
      }
      const streamed = yield* within3s(Stream.runCollect(client.stream(timed({ timeoutMs: 10_000, stallTimeoutMs: 10_000 }))))
      expect(streamed).not.toBe("hung")
      expect(streamed).toMatchObject({ _tag: "Failure" })
    }))

  it.live("a stream whose own stall bound is looser than the client's timeoutMs is still cut at the client's", () =>
    Effect.gen(function*() {
      const server = yield* pacedUpstream([0, 60_000])
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${server.url}/v1`), { timeoutMs: 300 })
      const seen: Array<string> = []
      const exit = yield* within3s(Stream.runForEach(client.stream(timed({ timeoutMs: 200, stallTimeoutMs: 10_000 })), (c) => Effect.sync(() => void seen.push(c.delta))))
      expect(seen).toEqual(["c0 "])
      expect(exit).toMatchObject({ _tag: "Failure" })
    }))

  it.live("chunks that keep coming within the bound are no stall, however long the stream; nor is a slow reader", () =>
    Effect.gen(function*() {
      // 8 chunks 60 ms apart (~500 ms in all) against a 150 ms bound; the reader then dawdles 400 ms
      const server = yield* pacedUpstream([0, 60, 60, 60, 60, 60, 60, 60])
      const client = yield* fixtureFor("direct").makeClient(providerConfig(`${server.url}/v1`))
      const seen: Array<string> = []
      yield* Stream.runForEach(client.stream(timed({ timeoutMs: 1_000, stallTimeoutMs: 150 })), (c) =>
        Effect.andThen(Effect.sync(() => void seen.push(c.delta)), seen.length === 6 ? Effect.sleep(400) : Effect.void))
      expect(seen.join("")).toBe("c0 c1 c2 c3 c4 c5 c6 c7 ")
    }))
})
