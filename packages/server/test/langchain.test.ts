/**
 * LangChain through the running server, unchanged (issue 13 acceptance): `ChatOpenAI` pointed at
 * the gateway's `/v1`, `bindTools` for a tool round trip (JSON and streamed) and
 * `withStructuredOutput({ method: "functionCalling" })`, against FakeOpenAI behind the gateway.
 */
import { AIMessageChunk, HumanMessage, ToolMessage } from "@langchain/core/messages"
import { ChatOpenAI } from "@langchain/openai"
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

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

const model = () =>
  new ChatOpenAI({ model: "openai/gpt-4o-mini", apiKey: "unused", maxRetries: 0, configuration: { baseURL: gw.baseURL } })

/** Calls the tool first; once the tool message is there, answers from its content. */
const weatherTurns = () =>
  fakes.openai.respond((body) => {
    const last = body.messages.at(-1) as { role: string; content: string; tool_call_id?: string }
    return last.role === "tool"
      ? `${last.tool_call_id}: ${JSON.parse(last.content).temp} °C`
      : { toolCalls: [{ id: "call_lc", name: "get_weather", arguments: { city: "Paris, France" } }] }
  })

describe("LangChain ChatOpenAI through the gateway", () => {
  it("bindTools: tool call, ToolMessage, final answer", async () => {
    weatherTurns()
    try {
      const llm = model().bindTools([weather])
      const question = new HumanMessage(unique("Weather in Paris?"))
      const call = await llm.invoke([question])
      expect(call.tool_calls?.map((c) => [c.id, c.name, c.args])).toEqual([["call_lc", "get_weather", { city: "Paris, France" }]])
      expect(fakes.openai.lastBody()?.tools).toEqual([weather])

      const final = await llm.invoke([question, call, new ToolMessage({ tool_call_id: "call_lc", content: JSON.stringify({ temp: 21 }) })])
      expect(final.content).toBe("call_lc: 21 °C")
      expect(final.tool_calls).toEqual([])
      const sent = fakes.openai.lastBody()?.messages as Array<Record<string, unknown>>
      expect(sent.map((m) => m.role)).toEqual(["user", "assistant", "tool"])
    } finally {
      fakes.openai.respond(undefined)
    }
  })

  it("bindTools streamed: the argument fragments add up to the call", async () => {
    weatherTurns()
    try {
      const llm = model().bindTools([weather])
      let merged: AIMessageChunk | undefined
      let fragments = 0
      for await (const chunk of await llm.stream([new HumanMessage(unique("Weather in Paris, streamed?"))])) {
        if ((chunk.tool_call_chunks?.length ?? 0) > 0) fragments++
        merged = merged === undefined ? chunk : merged.concat(chunk)
      }
      expect(fragments).toBeGreaterThan(1)
      expect(merged?.tool_calls?.map((c) => [c.id, c.name, c.args])).toEqual([["call_lc", "get_weather", { city: "Paris, France" }]])
    } finally {
      fakes.openai.respond(undefined)
    }
  })

  it("withStructuredOutput({ method: \"functionCalling\" }) forces the function and parses its arguments", async () => {
    fakes.openai.script([{ toolCalls: [{ name: "weather_report", arguments: { city: "Oslo", celsius: -3 } }] }])
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, celsius: { type: "number" } },
      required: ["city", "celsius"]
    }
    const structured = model().withStructuredOutput(schema, { method: "functionCalling", name: "weather_report" })
    const report = await structured.invoke(unique("Weather report for Oslo"))
    expect(report).toEqual({ city: "Oslo", celsius: -3 })
    expect(fakes.openai.lastBody()?.tool_choice).toEqual({ type: "function", function: { name: "weather_report" } })
  })
})
