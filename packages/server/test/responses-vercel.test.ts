/**
 * The Vercel AI SDK's default OpenAI provider (`openai(model)` speaks the Responses API) through
 * the gateway, unchanged: `generateText` (with a tool step), `streamText`, `generateObject`.
 */
import { createOpenAI } from "@ai-sdk/openai"
import { generateObject, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, startFakes, startGateway, unique } from "./support/harness.ts"
import { translated } from "./support/responsesSchema.ts"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(translated(configFor(fakes)))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const model = (id = "openai/gpt-4o-mini") => createOpenAI({ baseURL: gw.baseURL, apiKey: "unused" })(id)

describe("Vercel AI SDK openai(model) through /v1/responses", () => {
  it("generateText: text, and a tool the SDK runs between two steps", async () => {
    const plain = await generateText({ model: model(), prompt: unique("Hello?") })
    expect(plain.text).toBe("Hello from the fake upstream.")
    // the Responses API answered (a chat completion's id is chatcmpl-…)
    expect(plain.response.id).toMatch(/^resp_/)
    expect(plain.usage.inputTokens).toBeGreaterThan(0)
    expect(fakes.openai.requests().length).toBeGreaterThan(0)

    fakes.openai.respond((body) => {
      const last = body.messages.at(-1) as { role: string; content: string }
      return last.role === "tool"
        ? `Lima: ${JSON.parse(last.content).temp} °C`
        : { toolCalls: [{ id: "call_v", name: "get_weather", arguments: { city: "Lima" } }] }
    })
    const executed: Array<string> = []
    try {
      const result = await generateText({
        model: model(),
        stopWhen: stepCountIs(3),
        prompt: unique("Weather in Lima?"),
        tools: {
          get_weather: tool({
            description: "Current weather in a city",
            inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }),
            execute: async ({ city }) => {
              executed.push(city)
              return { temp: 21 }
            }
          })
        }
      })
      expect(executed).toEqual(["Lima"])
      expect(result.steps[0].finishReason).toBe("tool-calls")
      expect(result.text).toBe("Lima: 21 °C")
    } finally {
      fakes.openai.respond(undefined)
    }
  })

  it("streamText streams the answer from the Anthropic upstream", async () => {
    const result = streamText({ model: model("anthropic/claude-3-haiku-20240307"), prompt: unique("Stream?") })
    const deltas: Array<string> = []
    for await (const d of result.textStream) deltas.push(d)
    expect(deltas.join("")).toBe("Hello from fake Claude.")
    expect((await result.usage).outputTokens).toBeGreaterThan(0)
    expect(await result.finishReason).toBe("stop")
  })

  it("generateObject: the schema reaches the upstream as response_format and the object comes back", async () => {
    fakes.openai.respond(() => JSON.stringify({ city: "Oslo", temp: 3 }))
    try {
      const { object } = await generateObject({
        model: model(),
        prompt: unique("Weather in Oslo as JSON"),
        schema: jsonSchema<{ city: string; temp: number }>({
          type: "object",
          properties: { city: { type: "string" }, temp: { type: "number" } },
          required: ["city", "temp"],
          additionalProperties: false
        })
      })
      expect(object).toEqual({ city: "Oslo", temp: 3 })
      const format = fakes.openai.lastBody()?.response_format as { type: string; json_schema: { schema: unknown } }
      expect(format.type).toBe("json_schema")
      expect(format.json_schema.schema).toMatchObject({ required: ["city", "temp"] })
    } finally {
      fakes.openai.respond(undefined)
    }
  })
})
