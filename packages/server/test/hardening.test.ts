/**
 * What the operations endpoints tell a caller without a gateway key, and how every route
 * answers HEAD, OPTIONS and a wrong method (RFC 9110: HEAD wherever GET, `Allow` on 405).
 */
import { loadGatewayConfig } from "llm-gateway/GatewayLayer"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CANARY_KEY, type Fakes, type Gateway, onlyProviders, raw, startFakes, startGateway } from "./support/harness.ts"

const KEY = "gw-ops-key-0123456789"
const WRONG_UPSTREAM_KEY = "sk-wrong-upstream-key"

let fakes: Fakes
let locked: Gateway
let open: Gateway

/** The OpenAI fake wants CANARY_KEY; a second provider holds a wrong key, so it is unhealthy. */
const config = (fakes: Fakes, server: Record<string, unknown>) => {
  const base = onlyProviders(fakes, ["openai"], { server }) as { providers: ReadonlyArray<Record<string, unknown>> }
  return {
    ...base,
    providers: [...base.providers, { ...base.providers[0], name: "badkey", apiKey: WRONG_UPSTREAM_KEY }]
  }
}

beforeAll(async () => {
  fakes = await startFakes()
  locked = await startGateway(config(fakes, { apiKeys: [KEY], metricsAuth: true }))
  open = await startGateway(config(fakes, { apiKeys: [KEY] }))
})
afterAll(async () => {
  await locked?.close()
  await open?.close()
  await fakes?.close()
})

const auth = { authorization: `Bearer ${KEY}` }

describe("operations endpoints and gateway keys", () => {
  it("/health/ready answers status only without a key; provider detail (error text) only with one", async () => {
    const anonymous = await raw(`${locked.url}/health/ready`, { method: "GET" })
    expect(anonymous.status).toBe(200)
    expect(anonymous.json).toEqual({ status: "ready" })
    const wrongKey = await raw(`${locked.url}/health/ready`, { method: "GET", headers: { authorization: "Bearer nope-nope-nope" } })
    expect(wrongKey.json).toEqual({ status: "ready" })
    const keyed = await raw(`${locked.url}/health/ready`, { method: "GET", headers: auth })
    const body = keyed.json as { status: string; providers: Record<string, { status: string; error?: string }> }
    expect(body.status).toBe("ready")
    expect(body.providers.openai.status).toBe("ok")
    expect(body.providers.badkey.status).toBe("error")
    expect(body.providers.badkey.error?.length).toBeGreaterThan(0)
    for (const r of [anonymous, keyed]) {
      expect(r.text).not.toContain(WRONG_UPSTREAM_KEY)
      expect(r.text).not.toContain(CANARY_KEY)
    }
  })

  it("server.metricsAuth: true puts /metrics behind a gateway key; by default it stays open", async () => {
    const anonymous = await raw(`${locked.url}/metrics`, { method: "GET" })
    expect(anonymous.status).toBe(401)
    expect(anonymous.json).toMatchObject({ error: { code: "invalid_api_key" } })
    expect(anonymous.text).not.toContain("llm_")
    const keyed = await raw(`${locked.url}/metrics`, { method: "GET", headers: auth })
    expect(keyed.status).toBe(200)
    expect(keyed.text).toContain("llm_provider_requests_total")
    expect((await raw(`${open.url}/metrics`, { method: "GET" })).status).toBe(200)
  })

  it("server.metricsAuth without server.apiKeys is a configuration error", async () => {
    const e = await Effect.runPromise(Effect.flip(loadGatewayConfig({ config: { server: { metricsAuth: true } }, env: {} })))
    expect(e).toMatchObject({ _tag: "ConfigurationError", path: "server.metricsAuth" })
  })
})

describe("HEAD, OPTIONS and 405", () => {
  it("HEAD works on every GET route: the GET status and headers, no body", async () => {
    for (const [path, headers] of [["/health", {}], ["/health/ready", {}], ["/v1/models", auth], ["/models", auth], ["/api/v1/llm/status", auth]] as const) {
      const get = await raw(`${open.url}${path}`, { method: "GET", headers })
      const head = await raw(`${open.url}${path}`, { method: "HEAD", headers })
      expect([path, head.status]).toEqual([path, get.status])
      expect(head.text).toBe("")
      expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"))
    }
    // HEAD is checked like GET: no key, no answer
    expect((await raw(`${open.url}/v1/models`, { method: "HEAD" })).status).toBe(401)
  })

  it("OPTIONS answers 204 with Allow; a wrong method is a 405 that carries Allow", async () => {
    const options = await raw(`${open.url}/health`, { method: "OPTIONS" })
    expect(options.status).toBe(204)
    expect(options.headers.get("allow")).toBe("GET, HEAD, OPTIONS")
    const chatOptions = await raw(`${open.url}/v1/chat/completions`, { method: "OPTIONS" })
    expect(chatOptions.status).toBe(204)
    expect(chatOptions.headers.get("allow")).toBe("POST, OPTIONS")
    for (const [method, path, allow] of [
      ["POST", "/health", "GET, HEAD, OPTIONS"],
      ["DELETE", "/metrics", "GET, HEAD, OPTIONS"],
      ["GET", "/v1/chat/completions", "POST, OPTIONS"],
      ["PUT", "/v1/embeddings", "POST, OPTIONS"],
      ["POST", "/api/v1/llm/status", "GET, HEAD, OPTIONS"],
      ["GET", "/v1/messages", "POST, OPTIONS"],
      ["PUT", "/admin/v1/keys", "GET, HEAD, POST, OPTIONS"],
      ["POST", "/admin/v1/keys/k1", "GET, HEAD, PATCH, DELETE, OPTIONS"],
      ["GET", "/admin/v1/keys/k1/rotate", "POST, OPTIONS"]
    ] as const) {
      const r = await raw(`${open.url}${path}`, { method, body: method === "GET" ? undefined : "{}" })
      expect([method, path, r.status, r.headers.get("allow")]).toEqual([method, path, 405, allow])
      expect(r.json).toMatchObject({ error: { code: "method_not_allowed" } })
    }
    expect((await raw(`${open.url}/nowhere`, { method: "OPTIONS" })).status).toBe(404)
  })
})
