/** CORS is opt-in (`server.corsOrigins`): a browser page on another origin may call only when listed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, startFakes, startGateway } from "./support/harness.ts"

const APP = "https://app.example.com"
let fakes: Fakes
let open: Gateway
let closed: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  open = await startGateway(configFor(fakes, { server: { corsOrigins: [APP] } }))
  closed = await startGateway(configFor(fakes))
})
afterAll(async () => {
  await open?.close()
  await closed?.close()
  await fakes?.close()
})

const preflight = (gw: Gateway) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "OPTIONS",
    headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" }
  })

describe("CORS", () => {
  it("a listed origin gets a preflight answer and the x-llm-* headers exposed", async () => {
    const pre = await preflight(open)
    expect(pre.status).toBeLessThan(300)
    expect(pre.headers.get("access-control-allow-origin")).toBe(APP)
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization")
    const res = await fetch(`${open.url}/v1/chat/completions`, {
      method: "POST",
      headers: { origin: APP, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi from a browser" }] })
    })
    expect(res.status).toBe(200)
    expect(res.headers.get("access-control-allow-origin")).toBe(APP)
    expect(res.headers.get("access-control-expose-headers")).toContain("x-llm-provider")
    // the per-attempt route (request header `x-llm-route: include`) may be asked for and read
    expect(res.headers.get("access-control-expose-headers")).toContain("x-llm-route")
    const routePre = await fetch(`${open.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-llm-route" }
    })
    expect(routePre.headers.get("access-control-allow-headers")).toContain("x-llm-route")
  })

  it("without corsOrigins no origin is allowed", async () => {
    const pre = await preflight(closed)
    expect(pre.headers.get("access-control-allow-origin")).toBeNull()
  })
})
