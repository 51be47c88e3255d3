/**
 * OpenTelemetry traces: the running server exports OTLP/HTTP (JSON) to a receiver the test
 * starts, driven with the official `openai` client sending a W3C `traceparent`. Checks the
 * spans (HTTP request → manager → router → attempt → upstream call), their parent links and
 * GenAI attributes, the trace context the fake upstreams receive, the off switch, sampling,
 * and that a collector which never answers cannot make the exporter hold more and more.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Layer } from "effect"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Tracing from "../src/Tracing.ts"
import { configFor, type Fakes, startFakes, startGateway, unique } from "./support/harness.ts"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
}

interface Receiver {
  readonly url: string
  readonly spans: Array<OtlpSpan>
  readonly services: Set<string>
  readonly close: () => Promise<void>
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (c: string) => (text += c))
    req.on("end", () => resolve(text))
    req.on("error", reject)
  })

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  )

/** A minimal OTLP/HTTP JSON receiver: `POST /v1/traces`, keeps every span. */
const startReceiver = async (): Promise<Receiver> => {
  const spans: Array<OtlpSpan> = []
  const services = new Set<string>()
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    if (req.method === "POST" && req.url === "/v1/traces") {
      const data = JSON.parse(body) as {
        resourceSpans: Array<{
          resource: { attributes: ReadonlyArray<{ key: string; value: { stringValue?: string } }> }
          scopeSpans: Array<{ spans: Array<OtlpSpan> }>
        }>
      }
      for (const rs of data.resourceSpans) {
        const name = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue
        if (name !== undefined) services.add(name)
        for (const ss of rs.scopeSpans) spans.push(...ss.spans)
      }
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}")
  })
  const url = await listen(server)
  return { url, spans, services, close: () => new Promise((r) => server.close(() => r())) }
}

/** Attribute values as plain JS (OTLP JSON wraps each in `{ stringValue | intValue | … }`). */
const plain = (v: Record<string, unknown>): unknown => {
  if ("stringValue" in v) return v.stringValue
  if ("intValue" in v) return Number(v.intValue)
  if ("doubleValue" in v) return v.doubleValue
  if ("boolValue" in v) return v.boolValue
  if ("arrayValue" in v) return ((v.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(plain)
  return v
}
const attrs = (s: OtlpSpan): Record<string, unknown> => Object.fromEntries(s.attributes.map((a) => [a.key, plain(a.value)]))

const waitFor = async <A>(what: string, f: () => A | undefined, ms = 5_000): Promise<A> => {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const a = f()
    if (a !== undefined) return a
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("")
const newTraceparent = () => {
  const traceId = hex(32)
  const parentId = hex(16)
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` }
}

/** Spans export every 50 ms here instead of every 5 s. */
const fastExport = { OTEL_BSP_SCHEDULE_DELAY: "50" }

let fakes: Fakes
let receiver: Receiver

beforeAll(async () => {
  fakes = await startFakes()
  receiver = await startReceiver()
})
afterAll(async () => {
  await fakes?.close()
  await receiver?.close()
})

const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId)
const byName = (spans: ReadonlyArray<OtlpSpan>, name: string) => spans.find((s) => s.name === name)

describe("tracing on (tracing.endpoint in the config)", () => {
  it("exports the request's spans under the caller's traceparent, linked parent to child, with GenAI attributes; the upstream gets the trace context", async () => {
    const gw = await startGateway(configFor(fakes, { tracing: { endpoint: receiver.url, serviceName: "gw-under-test" } }), { env: fastExport })
    try {
      const tp = newTraceparent()
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: "unused", maxRetries: 0, defaultHeaders: { traceparent: tp.header } })
      const before = fakes.openai.server.requests.length
      const data = await client.chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: unique("trace me") }],
        max_tokens: 50
      })
      const upstream = await waitFor("chat gpt-4o-mini", () => byName(spansOf(tp.traceId), "chat gpt-4o-mini"))
      const spans = spansOf(tp.traceId)
      const server = spans.find((s) => s.kind === 2)!
      const manager = byName(spans, "LLMManager.generate")!
      const lookup = byName(spans, "CacheService.lookup")!
      const router = byName(spans, "ModelRouter.generate")!
      const attempt = byName(spans, "ModelRouter.attempt")!
      expect(receiver.services).toContain("gw-under-test")

      // the HTTP request continues the caller's trace; each layer is the child of the one above
      expect(server.parentSpanId).toBe(tp.parentId)
      expect(attrs(server)).toMatchObject({ "http.request.method": "POST", "http.route": "/v1/chat/completions", "http.response.status_code": 200 })
      expect(manager.parentSpanId).toBe(server.spanId)
      // a cache miss: the router runs inside the cache's lookup
      expect(lookup.parentSpanId).toBe(manager.spanId)
      expect(router.parentSpanId).toBe(lookup.spanId)
      expect(attempt.parentSpanId).toBe(router.spanId)
      expect(upstream.parentSpanId).toBe(attempt.spanId)
      expect(upstream.kind).toBe(3) // client

      expect(attrs(manager)).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "openai/gpt-4o-mini",
        "gen_ai.request.max_tokens": 50,
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": data.usage!.prompt_tokens,
        "gen_ai.usage.output_tokens": data.usage!.completion_tokens,
        "gen_ai.response.finish_reasons": ["stop"]
      })
      expect(attrs(attempt)).toMatchObject({ "llm_gateway.model_ref": "openai/gpt-4o-mini", "llm_gateway.attempt": 1 })
      expect(attrs(upstream)).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": data.usage!.prompt_tokens,
        "gen_ai.usage.output_tokens": data.usage!.completion_tokens,
        "gen_ai.response.finish_reasons": ["stop"]
      })

      // the upstream request carries the upstream span as its parent (W3C trace context)
      const sent = fakes.openai.server.requests.slice(before).find((r) => r.path.endsWith("/chat/completions"))!
      expect(sent.headers.traceparent).toBe(`00-${tp.traceId}-${upstream.spanId}-01`)
    } finally {
      await gw.close()
    }
  })

  it("propagates the trace to the Anthropic SDK path and through a streamed answer", async () => {
    const gw = await startGateway(configFor(fakes, { tracing: { endpoint: receiver.url } }), { env: fastExport })
    try {
      const tp = newTraceparent()
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: "unused", maxRetries: 0, defaultHeaders: { traceparent: tp.header } })
      const before = fakes.anthropic.requests.length
      const stream = await client.chat.completions.create({
        model: "anthropic/claude-3-haiku-20240307",
        messages: [{ role: "user", content: unique("stream a trace") }],
        stream: true
      })
      for await (const _ of stream) { /* drain */ }
      const upstream = await waitFor("the upstream span", () => byName(spansOf(tp.traceId), "chat claude-3-haiku-20240307"))
      const attempt = byName(spansOf(tp.traceId), "ModelRouter.attempt")!
      expect(upstream.parentSpanId).toBe(attempt.spanId)
      // the manager's stream span holds the attempt and, once the last chunk passed, the usage
      const manager = await waitFor("the manager's stream span", () => byName(spansOf(tp.traceId), "LLMManager.generateStream"))
      expect(attempt.parentSpanId).toBe(manager.spanId)
      expect(attrs(manager)).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "anthropic/claude-3-haiku-20240307",
        "gen_ai.response.finish_reasons": ["stop"]
      })
      expect(attrs(manager)["gen_ai.usage.output_tokens"]).toBeGreaterThan(0)
      expect(attrs(upstream)).toMatchObject({ "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-3-haiku-20240307" })
      // the SDK call runs in the client's own span (AnthropicClient.stream), a child of the upstream span
      const sent = fakes.anthropic.requests.slice(before).find((r) => r.path.endsWith("/messages"))!
      const [, traceId, spanId, flags] = String(sent.headers.traceparent).split("-")
      expect([traceId, flags]).toEqual([tp.traceId, "01"])
      const sentSpan = await waitFor("the client's span", () => spansOf(tp.traceId).find((s) => s.spanId === spanId))
      expect(sentSpan.parentSpanId).toBe(upstream.spanId)
    } finally {
      await gw.close()
    }
  })

  it("reads OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_SERVICE_NAME; sampleRatio 0 records no new trace but follows a sampled caller", async () => {
    const gw = await startGateway(configFor(fakes, { tracing: { sampleRatio: 0 } }), {
      env: { ...fastExport, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: "gw-from-env" }
    })
    try {
      const client = gw.client()
      const before = fakes.openai.server.requests.length
      await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("unsampled") }] })
      const tp = newTraceparent()
      await client.chat.completions.create(
        { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("sampled by caller") }] },
        { headers: { traceparent: tp.header } }
      )
      await waitFor("the caller's trace", () => byName(spansOf(tp.traceId), "chat gpt-4o-mini"))
      expect(receiver.services).toContain("gw-from-env")
      const [unsampled, sampled] = fakes.openai.server.requests.slice(before).filter((r) => r.path.endsWith("/chat/completions"))
      // the unsampled trace still propagates (flag 00), so the upstream can agree not to record it
      expect(unsampled.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
      const unsampledTrace = String(unsampled.headers.traceparent).split("-")[1]
      expect(spansOf(unsampledTrace)).toEqual([])
      expect(sampled.headers.traceparent).toMatch(new RegExp(`^00-${tp.traceId}-[0-9a-f]{16}-01$`))
    } finally {
      await gw.close()
    }
  })
})

describe("tracing off (nothing configured)", () => {
  it("records and sends nothing: no span reaches a collector and no traceparent goes upstream", async () => {
    const gw = await startGateway(configFor(fakes), { env: {} })
    try {
      const tp = newTraceparent()
      const before = fakes.openai.server.requests.length
      const spansBefore = receiver.spans.length
      await gw.client().chat.completions.create(
        { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: unique("untraced") }] },
        { headers: { traceparent: tp.header } }
      )
      const sent = fakes.openai.server.requests.slice(before).find((r) => r.path.endsWith("/chat/completions"))!
      expect(sent.headers.traceparent).toBeUndefined()
      await new Promise((r) => setTimeout(r, 200))
      expect(receiver.spans.length).toBe(spansBefore)
    } finally {
      await gw.close()
    }
  })

  it("a config error in the OTel env fails the start, naming the variable", async () => {
    await expect(startGateway(configFor(fakes), { env: { OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" } })).rejects.toMatchObject({
      _tag: "ConfigurationError",
      path: "OTEL_EXPORTER_OTLP_ENDPOINT"
    })
  })
})

describe("a collector that never answers", () => {
  it("holds at most maxInFlight exports, then drops spans instead of queueing them", async () => {
    // accepts connections and reads requests, never answers
    let received = 0
    const dead = createServer((req) => {
      received++
      req.resume()
    })
    const url = await listen(dead)
    const settings: Tracing.TracingSettings = {
      url: `${url}/v1/traces`,
      serviceName: "dead-collector-test",
      sampleRatio: 1,
      protocol: "http/json",
      timeoutMs: 60_000,
      exportIntervalMs: 60_000,
      maxBatchSize: 5,
      maxInFlight: 2
    }
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          // 200 spans = 40 full batches, each of which asks for an export at once
          for (let i = 0; i < 200; i++) yield* Effect.withSpan(Effect.void, `span ${i}`)
          yield* Effect.sleep("300 millis")
        }).pipe(
          Effect.provide(Tracing.layerOtlp(settings)),
          // shutdown would wait for the hung exports: bound it
          Effect.timeout("2 seconds"),
          Effect.ignore
        )
      )
      expect(received).toBe(2)
    } finally {
      dead.closeAllConnections()
      await new Promise((r) => dead.close(() => r(undefined)))
    }
  })
})
