/**
 * The Vercel AI SDK through the running server, unchanged (issue 13 acceptance): `ai`'s
 * `generateText` / `streamText` with `tools` (an `execute` the SDK runs between steps) over
 * `@ai-sdk/openai`'s `.chat(model)`, against FakeOpenAI behind the gateway.
 */
import { createOpenAI } from "@ai-sdk/openai"
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, startFakes, startGateway, unique } from "./support/harness.ts"

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

const executed: Array<string> = []
const tools = {
  get_weather: tool({
    description: "Current weather in a city",
    inputSchema: jsonSchema<{ city: string }>({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false
    }),
    execute: async ({ city }) => {
      executed.push(city)
      return { temp: 21 }
    }
  })
}

const model = () => createOpenAI({ baseURL: gw.baseURL, apiKey: "unused" }).chat("openai/gpt-4o-mini")

/** Calls the tool first; once the tool message is there, answers from its content. */
const weatherTurns = () =>
  fakes.openai.respond((body) => {
    const last = body.messages.at(-1) as { role: string; content: string; tool_call_id?: string }
    return last.role === "tool"
      ? `${last.tool_call_id}: ${JSON.parse(last.content).temp} °C`
      : { toolCalls: [{ id: "call_v", name: "get_weather", arguments: { city: "Lima, Peru" } }] }
  })

describe("Vercel AI SDK tools through the gateway", () => {
  it("generateText: the SDK runs the tool between two steps and gets the final answer", async () => {
    weatherTurns()
    executed.length = 0
    try {
      const result = await generateText({ model: model(), tools, stopWhen: stepCountIs(3), prompt: unique("Weather in Lima?") })
      expect(executed).toEqual(["Lima, Peru"])
      expect(result.steps.length).toBe(2)
      expect(result.steps[0].finishReason).toBe("tool-calls")
      expect(result.text).toBe("call_v: 21 °C")
      const sent = fakes.openai.lastBody()?.messages as Array<Record<string, unknown>>
      expect(sent.map((m) => m.role)).toEqual(["user", "assistant", "tool"])
      expect(sent[2]).toMatchObject({ role: "tool", tool_call_id: "call_v" })
    } finally {
      fakes.openai.respond(undefined)
    }
  })

  it("streamText: argument deltas stream, the tool runs, the final text streams", async () => {
    weatherTurns()
    executed.length = 0
    try {
      const result = streamText({ model: model(), tools, stopWhen: stepCountIs(3), prompt: unique("Weather in Lima, streamed?") })
      const kinds: Array<string> = []
      for await (const part of result.fullStream) kinds.push(part.type)
      expect(kinds.filter((k) => k === "tool-input-delta").length).toBeGreaterThan(1)
      expect(kinds.indexOf("tool-call")).toBeLessThan(kinds.indexOf("tool-result"))
      expect(executed).toEqual(["Lima, Peru"])
      expect(await result.text).toBe("call_v: 21 °C")
    } finally {
      fakes.openai.respond(undefined)
    }
  })
})
