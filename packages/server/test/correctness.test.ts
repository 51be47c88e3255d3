/**
 * Wrong answers (issue 11) and deep JSON (issue 20), through the running server with the
 * official `openai` client against the loopback fakes.
 */
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

describe("cache key: a named model is never served another model's answer", () => {
  it("auto, then the same prompt naming a model that sorts first among the candidates", async () => {
    const client = gw.client()
    const messages = [{ role: "user" as const, content: unique("which model are you") }]
    // `cost` makes auto pick the free ollama model; anthropic/… sorts first in the candidate set.
    const auto = await client.chat.completions
      .create({ model: "auto", messages }, { headers: { "x-llm-strategy": "cost" } })
      .withResponse()
    expect(auto.response.headers.get("x-llm-provider")).toBe("ollama")
    expect(auto.data.choices[0].message.content).toBe("Hello from fake Ollama")

    const named = await client.chat.completions
      .create({ model: "anthropic/claude-3-haiku-20240307", messages }, { headers: { "x-llm-strategy": "cost" } })
      .withResponse()
    expect(named.response.headers.get("x-llm-provider")).toBe("anthropic")
    expect(named.response.headers.get("x-llm-cache")).toBe("miss")
    expect(named.response.headers.get("x-llm-attempts")).toBe("1")
    expect(named.data.choices[0].message.content).toBe("Hello from fake Claude.")

    // Each still hits its own entry.
    const autoAgain = await client.chat.completions
      .create({ model: "auto", messages }, { headers: { "x-llm-strategy": "cost" } })
      .withResponse()
    expect(autoAgain.response.headers.get("x-llm-cache")).toBe("hit")
    expect(autoAgain.data.choices[0].message.content).toBe("Hello from fake Ollama")
    const namedAgain = await client.chat.completions.create({ model: "anthropic/claude-3-haiku-20240307", messages }).withResponse()
    expect(namedAgain.response.headers.get("x-llm-cache")).toBe("hit")
    expect(namedAgain.data.choices[0].message.content).toBe("Hello from fake Claude.")
  })
})
