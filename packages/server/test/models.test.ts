/**
 * `GET /v1/models/{model}` with the official `openai` client: model refs hold a slash
 * (`openai/gpt-4o-mini`), which the SDK sends URL-encoded; a raw client may send it as is.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway } from "./support/harness.ts"

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

describe("GET /v1/models/{model}", () => {
  it("client.models.retrieve returns the Model object of a provider/model ref", async () => {
    const model = await gw.client().models.retrieve("openai/gpt-4o-mini")
    expect(model).toMatchObject({ id: "openai/gpt-4o-mini", object: "model", owned_by: "openai", context_window: 128000 })
    expect(Number.isInteger(model.created)).toBe(true)
    // the same object the list holds
    const list = await gw.client().models.list()
    expect(list.data.find((m) => m.id === "openai/gpt-4o-mini")).toEqual(model)
  })

  it("answers a ref sent unencoded, an id with a colon, and a bare id one provider lists", async () => {
    const plain = await raw(`${gw.baseURL}/models/openai/gpt-4o-mini`, { method: "GET" })
    expect(plain.status).toBe(200)
    expect(plain.json).toMatchObject({ id: "openai/gpt-4o-mini", object: "model" })
    expect((await gw.client().models.retrieve("ollama/llama3.2:latest")).owned_by).toBe("ollama")
    expect((await gw.client().models.retrieve("claude-3-haiku-20240307")).id).toBe("anthropic/claude-3-haiku-20240307")
  })

  it("also answers without the /v1 prefix", async () => {
    const bare = new OpenAI({ baseURL: gw.url, apiKey: "unused", maxRetries: 0 })
    expect((await bare.models.retrieve("anthropic/claude-3-haiku-20240307")).id).toBe("anthropic/claude-3-haiku-20240307")
  })

  it("an unknown model is 404 model_not_found, raised by the client as NotFoundError", async () => {
    const failed = await gw.client().models.retrieve("openai/gpt-9").then(() => undefined, (e: unknown) => e)
    expect(failed).toBeInstanceOf(OpenAI.NotFoundError)
    expect((failed as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found")
    const unprefixed = await raw(`${gw.url}/models/nope%2Fnothing`, { method: "GET" })
    expect(unprefixed.status).toBe(404)
    expect(unprefixed.json).toMatchObject({ error: { code: "model_not_found", type: "ModelUnavailable" } })
  })

  it("another method on a model path is 405", async () => {
    const r = await raw(`${gw.baseURL}/models/openai%2Fgpt-4o-mini`, { method: "DELETE" })
    expect(r.status).toBe(405)
    expect(r.json).toMatchObject({ error: { code: "method_not_allowed" } })
  })
})
