/**
 * Property: whatever arrives at a model endpoint — random JSON, request-shaped objects with
 * random field values, random bytes — the server answers without a 5xx and without crashing,
 * and every non-2xx answer is OpenAI's error envelope.
 */
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, startFakes, startGateway } from "./support/harness.ts"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { maxBodyBytes: 65536 } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const endpoints = ["/v1/chat/completions", "/v1/embeddings", "/api/v1/llm/generate", "/api/v1/llm/chat"]

const send = async (path: string, body: Uint8Array | string) => {
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: body as BodyInit })
  return { status: res.status, text: await res.text() }
}

const assertAnswer = (r: { status: number; text: string }) => {
  expect(r.status).toBeLessThan(500)
  if (r.status >= 300) {
    const body = JSON.parse(r.text)
    expect(typeof body.error.message).toBe("string")
    expect(typeof body.error.type).toBe("string")
    expect(typeof body.error.code).toBe("string")
  }
}

const message = fc.record({
  role: fc.oneof(fc.constantFrom("system", "user", "assistant", "developer", "tool", "constructor", "__proto__"), fc.string(), fc.anything()),
  content: fc.oneof(fc.string({ maxLength: 50 }), fc.anything(), fc.array(fc.record({ type: fc.constantFrom("text", "image_url"), text: fc.anything() })))
}, { requiredKeys: [] })

/** Objects shaped like requests, with wrong or edge values in any field. */
const requestLike = fc.record({
  model: fc.oneof(fc.constantFrom("auto", "openai/gpt-4o-mini", "ollama/llama3.2:latest", "nope/nope", ""), fc.anything()),
  messages: fc.oneof(fc.array(message, { maxLength: 3 }), fc.anything()),
  prompt: fc.oneof(fc.string({ maxLength: 40 }), fc.anything()),
  input: fc.oneof(fc.string(), fc.array(fc.oneof(fc.string(), fc.integer())), fc.anything()),
  max_tokens: fc.oneof(fc.integer({ min: -5, max: 64 }), fc.double(), fc.anything()),
  temperature: fc.oneof(fc.double({ noNaN: false }), fc.anything()),
  stream: fc.oneof(fc.boolean(), fc.anything()),
  stop: fc.anything(),
  provider: fc.oneof(fc.constantFrom("openai", "ollama", "none"), fc.anything()),
  conversation_id: fc.oneof(fc.string({ maxLength: 300 }), fc.anything()),
  response_format: fc.anything()
}, { requiredKeys: [] })

describe("fuzzing the model endpoints", () => {
  it("random JSON values never get a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), fc.jsonValue(), async (path, value) => {
        assertAnswer(await send(path, JSON.stringify(value)))
      }),
      { numRuns: 100 }
    )
  })

  it("request-shaped objects with random fields never get a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), requestLike, async (path, value) => {
        let body: string
        try {
          body = JSON.stringify(value)
        } catch {
          return // BigInt and friends cannot be sent as JSON at all
        }
        if (body === undefined) return
        assertAnswer(await send(path, body))
      }),
      { numRuns: 100 }
    )
  })

  it("random bytes never get a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), fc.uint8Array({ maxLength: 512 }), async (path, bytes) => {
        assertAnswer(await send(path, bytes))
      }),
      { numRuns: 100 }
    )
  })

  it("the server still answers normally afterwards", async () => {
    const ok = await gw.client().chat.completions.create({ model: "auto", messages: [{ role: "user", content: "still alive?" }] })
    expect(ok.choices[0].message.content?.length).toBeGreaterThan(0)
  })
})
