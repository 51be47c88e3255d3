/**
 * Capability planning through the running server with the official `openai` client (issue 13):
 * an image sent to a named llama.cpp model (no vision: its provider's limit) is a 400 naming the
 * part, before any model runs and with no fallback; `auto` with an image skips the llama.cpp
 * candidate (the cheapest, so first under `cost`) and the route says why.
 */
import { fileURLToPath } from "node:url"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, startFakes, startGateway, unique } from "./support/harness.ts"

const modelPath = fileURLToPath(new URL("../../../models/stories260K.gguf", import.meta.url))
const png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  const base = configFor(fakes) as { providers: ReadonlyArray<unknown> }
  gw = await startGateway(configFor(fakes, {
    providers: [{ name: "local", type: "llamacpp", modelPath, models: [{ id: "stories260K" }] }, ...base.providers],
    routing: {
      strategy: "cost",
      tasks: { general: ["local/stories260K", "openai/gpt-4o-mini"] },
      maxRetries: 0,
      timeoutMs: 20000,
      attemptTimeoutMs: 20000
    },
    cache: { enabled: false }
  }))
}, 60_000)
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const withImage = (text: string): Array<OpenAI.Chat.ChatCompletionMessageParam> => [{
  role: "user",
  content: [{ type: "text", text }, { type: "image_url", image_url: { url: png } }]
}]

describe("capability planning through /v1/chat/completions", () => {
  it("an image to a named llama.cpp model: 400 invalid_request naming messages[0].content[1], no upstream call", async () => {
    const before = fakes.openai.requests().length
    const error = await gw.client().chat.completions
      .create({ model: "local/stories260K", messages: withImage(unique("what is this?")) })
      .then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    const e = error as InstanceType<typeof OpenAI.BadRequestError>
    expect(e.status).toBe(400)
    expect(e.code).toBe("invalid_request")
    // refused by the plan (before the model is run), in the planner's words
    expect(e.message).toContain("messages[0].content[1]: image input is not supported by local/stories260K")
    // no fallback to a model the caller did not name
    expect(fakes.openai.requests().length).toBe(before)
  })

  it("auto with an image skips the llama.cpp candidate; the route names it skipped", async () => {
    const { data, response } = await gw.client().chat.completions
      .create({ model: "auto", messages: withImage(unique("describe it")) }, { headers: { "x-llm-route": "include" } })
      .withResponse()
    expect(response.headers.get("x-llm-provider")).toBe("openai")
    expect(response.headers.get("x-llm-attempts")).toBe("1")
    expect(response.headers.get("x-llm-route")).toMatch(/^local\/stories260K;skipped:Unsupported;0\.0, openai\/gpt-4o-mini;ok;/)
    expect(data.choices[0].message.content).toBeTypeOf("string")
    // the image reached the model that can take it
    const sent = fakes.openai.lastBody()?.messages as Array<{ content: Array<{ type: string }> }>
    expect(sent[0].content.map((p) => p.type)).toEqual(["text", "image_url"])
  })

  it("the same text-only request still goes to llama.cpp first (cost)", async () => {
    const { response } = await gw.client().chat.completions
      .create({ model: "auto", messages: [{ role: "user", content: unique("Once upon a time") }], max_tokens: 8 })
      .withResponse()
    expect(`${response.headers.get("x-llm-provider")}/${response.headers.get("x-llm-model")}`).toBe("local/stories260K")
  })
})
