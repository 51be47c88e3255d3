/**
 * An OpenAI Agents SDK agent (`@openai/agents`, on the Responses API) whose OpenAI client points
 * at the gateway, on an OpenAI-wire model: a text answer, and a function tool round trip, both
 * as one JSON response per turn and streamed.
 */
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from "@openai/agents"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { type AgentsGateway, GATEWAY_KEY, MODEL, startAgentsGateway, upstreamContents } from "./support/gateway.ts"

let gw: AgentsGateway
let runner: Runner

beforeAll(async () => {
  // tracing would export each run to OpenAI
  setTracingDisabled(true)
  gw = await startAgentsGateway()
  const openAIClient = new OpenAI({ baseURL: gw.gateway.baseURL, apiKey: GATEWAY_KEY, maxRetries: 0, timeout: 20_000 })
  runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient, useResponses: true }) })
})
afterAll(async () => {
  await gw?.close()
})

/** The tool the agent calls; what it returns is what the model must see next. */
const stockLevel = tool({
  name: "stock_level",
  description: "Units of a product in the warehouse",
  parameters: z.object({ sku: z.string() }),
  execute: async ({ sku }) => `${sku}: 42 units in stock`
})

const agent = new Agent({ name: "Warehouse", instructions: "Answer from the tools.", model: MODEL, tools: [stockLevel] })

/** Calls the tool first, then answers with the count its result carried. */
const toolThenAnswer = () =>
  gw.upstream.respond((body) => {
    const result = body.messages.find((m) => m.role === "tool")
    if (result === undefined) return { toolCalls: [{ name: "stock_level", arguments: { sku: "SKU-7" } }] }
    const units = /(\d+) units/.exec(JSON.stringify(result.content))?.[1] ?? "no"
    return `There are ${units} units of SKU-7.`
  })

describe("OpenAI Agents SDK agent through the gateway's Responses API", () => {
  it("answers a text prompt", async () => {
    gw.upstream.respond(() => "The warehouse is open.")
    const before = gw.upstream.requests().length
    const result = await runner.run(new Agent({ name: "Greeter", instructions: "Be brief.", model: MODEL }), "Is the warehouse open?")
    expect(result.finalOutput).toBe("The warehouse is open.")
    const [sent] = gw.upstream.requests().slice(before)
    // the agent's instructions become the system message upstream
    expect(sent.messages[0]).toEqual({ role: "system", content: "Be brief." })
    expect(sent.model).toBe("gpt-4o-mini")
  })

  it("calls a function tool and answers from its result", async () => {
    toolThenAnswer()
    const before = upstreamContents(gw.upstream, "tool").length
    const result = await runner.run(agent, "How many SKU-7 are in stock?")
    expect(result.finalOutput).toBe("There are 42 units of SKU-7.")
    expect(upstreamContents(gw.upstream, "tool").slice(before)).toEqual(["SKU-7: 42 units in stock"])
  })

  it("calls a function tool and answers from its result, streamed", async () => {
    toolThenAnswer()
    const before = upstreamContents(gw.upstream, "tool").length
    const result = await runner.run(agent, "How many SKU-7 are in stock?", { stream: true })
    let text = ""
    for await (const event of result.toTextStream()) text += event
    await result.completed
    expect(text).toBe("There are 42 units of SKU-7.")
    expect(result.finalOutput).toBe("There are 42 units of SKU-7.")
    expect(upstreamContents(gw.upstream, "tool").slice(before)).toEqual(["SKU-7: 42 units in stock"])
  })
})
