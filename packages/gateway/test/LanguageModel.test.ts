/**
 * effect/ai's LanguageModel backed by the gateway (issue 13, library acceptance): a Toolkit's
 * handler runs through the gateway to a final answer, with fallback after an injected 500 on the
 * first model; streamed and structured output too. Real `openai` SDK against FakeOpenAI.
 */
import { describe, expect, it } from "@effect/vitest"
import { type FakeChatRequest, type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { Duration, Effect, Layer, Schema, Stream } from "effect"
import { AiError, LanguageModel, Prompt, type Response, Tool, Toolkit } from "effect/ai"
import { afterAll, beforeAll } from "vitest"
import { type GatewayMetadata, languageModelLayer } from "../src/LanguageModel.ts"

let fake: FakeOpenAI
beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: "plain reply" })
})
afterAll(() => fake.close())

const config = () => ({
  providers: [{
    name: "openai",
    type: "openai-compatible",
    baseUrl: fake.baseUrl,
    models: [
      { id: "gpt-4o-mini", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 },
      { id: "gpt-4o", contextWindow: 128000, inputCostPer1M: 2.5, outputCostPer1M: 10 }
    ]
  }],
  // no retry of the same model: the 500 moves the request to the next candidate
  routing: { maxRetries: 0, tasks: { general: ["openai/gpt-4o-mini", "openai/gpt-4o"] } },
  conversations: { store: "memory" }
})

const GetWeather = Tool.make("GetWeather", {
  description: "Current weather for a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
const WeatherToolkit = Toolkit.make(GetWeather)
const handled: Array<string> = []
const WeatherHandlers = WeatherToolkit.toLayer({
  GetWeather: ({ city }) => Effect.sync(() => (handled.push(city), { city, celsius: 21 }))
})

const chatBodies = () =>
  fake.server.requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.body as FakeChatRequest)

/** The final turn: answers from the tool message the gateway forwarded, so the result must arrive. */
const answerFromToolResult = (body: FakeChatRequest) => {
  const tool = body.messages.find((m) => m.role === "tool") as { content: string; tool_call_id: string } | undefined
  if (tool === undefined) return undefined
  const result = JSON.parse(tool.content) as { city: string; celsius: number }
  return `${tool.tool_call_id}: it is ${result.celsius} °C in ${result.city}.`
}

const gatewayOf = (parts: ReadonlyArray<Response.AnyPart>): GatewayMetadata => {
  const finish = parts.find((p) => p.type === "finish")
  return finish?.metadata.gateway as unknown as GatewayMetadata
}

const layer = () => Layer.mergeAll(languageModelLayer({ config: config(), taskType: "general" }), WeatherHandlers)

describe("LanguageModel backed by the gateway", () => {
  it.live("a Toolkit handler runs to a final answer, after a 500 on the first model falls back to the second", () =>
    Effect.gen(function*() {
      const before = chatBodies().length
      handled.length = 0
      fake.enqueueFault({ kind: "status", status: 500 })
      fake.script([{ toolCalls: [{ id: "call_w1", name: "GetWeather", arguments: { city: "Paris" } }] }])
      fake.respond(answerFromToolResult)

      const question = Prompt.make(`What is the weather in Paris? ${Math.random()}`)
      const first = yield* LanguageModel.generateText({ prompt: question, toolkit: WeatherToolkit })
      expect(first.finishReason).toBe("tool-calls")
      expect(first.toolCalls.map((c) => [c.id, c.name, c.params])).toEqual([["call_w1", "GetWeather", { city: "Paris" }]])
      expect(first.toolResults.map((r) => [r.id, r.result, r.isFailure])).toEqual([["call_w1", { city: "Paris", celsius: 21 }, false]])
      expect(handled).toEqual(["Paris"])
      const route = gatewayOf(first.content)
      expect(route.attempts.map((a) => [a.model, a.outcome])).toEqual([
        ["openai/gpt-4o-mini", "ModelUnavailable"],
        ["openai/gpt-4o", "ok"]
      ])
      expect([route.provider, route.model, route.cached]).toEqual(["openai", "gpt-4o", false])
      expect(route.costUsd).toBeGreaterThan(0)

      // the caller's loop: the call and its result go back, the model answers
      const final = yield* LanguageModel.generateText({
        prompt: Prompt.concat(question, Prompt.fromResponseParts(first.content)),
        toolkit: WeatherToolkit
      })
      expect(final.text).toBe("call_w1: it is 21 °C in Paris.")
      expect(final.finishReason).toBe("stop")
      expect(final.usage.outputTokens.total).toBeGreaterThan(0)

      const bodies = chatBodies().slice(before)
      expect(bodies.map((b) => b.model)).toEqual(["gpt-4o-mini", "gpt-4o", "gpt-4o-mini"])
      // the toolkit's schema reached the upstream as an OpenAI function
      const tools = bodies[1].tools as Array<{ function: { name: string; parameters: { properties: object } } }>
      expect(tools.map((t) => [t.function.name, Object.keys(t.function.parameters.properties)])).toEqual([["GetWeather", ["city"]]])
      const assistant = bodies[2].messages.find((m) => m.role === "assistant") as unknown as { tool_calls: Array<{ id: string }> }
      expect(assistant.tool_calls.map((c) => c.id)).toEqual(["call_w1"])
    }).pipe(Effect.ensuring(Effect.sync(() => fake.respond(undefined))), Effect.provide(layer())))

  it.live("streamText forwards argument fragments as they arrive, then effect/ai runs the handler", () =>
    Effect.gen(function*() {
      handled.length = 0
      fake.script([{ toolCalls: [{ id: "call_s1", name: "GetWeather", arguments: { city: "Reykjavik, Iceland" } }] }])
      const parts = yield* LanguageModel.streamText({
        prompt: `Weather in Reykjavik? ${Math.random()}`,
        toolkit: WeatherToolkit
      }).pipe(Stream.runCollect)
      const types = parts.map((p) => p.type)
      const deltas = parts.filter((p) => p.type === "tool-params-delta")
      expect(deltas.length).toBeGreaterThan(1)
      expect(deltas.map((d) => d.delta).join("")).toBe(JSON.stringify({ city: "Reykjavik, Iceland" }))
      expect(types.indexOf("tool-params-start")).toBeLessThan(types.indexOf("tool-params-delta"))
      expect(types.indexOf("tool-call")).toBeLessThan(types.indexOf("tool-result"))
      const result = parts.find((p) => p.type === "tool-result")
      expect(result?.result).toEqual({ city: "Reykjavik, Iceland", celsius: 21 })
      expect(handled).toEqual(["Reykjavik, Iceland"])
      const finish = parts.find((p) => p.type === "finish")
      expect(finish?.reason).toBe("tool-calls")
      expect((finish?.metadata.gateway as unknown as GatewayMetadata).model).toBe("gpt-4o-mini")
    }).pipe(Effect.provide(layer())))

  it.live("generateObject sends the schema as response_format and decodes the answer", () =>
    Effect.gen(function*() {
      fake.script(['{"city":"Oslo","celsius":-3}'])
      const Weather = Schema.Struct({ city: Schema.String, celsius: Schema.Number })
      const answer = yield* LanguageModel.generateObject({ prompt: `Oslo? ${Math.random()}`, schema: Weather, objectName: "weather" })
      expect(answer.value).toEqual({ city: "Oslo", celsius: -3 })
      const format = fake.lastBody()?.response_format as { type: string; json_schema: { name: string; schema: { properties: object } } }
      expect([format.type, format.json_schema.name, Object.keys(format.json_schema.schema.properties)]).toEqual(["json_schema", "weather", ["city", "celsius"]])
    }).pipe(Effect.provide(layer())))

  it.live("a request every candidate refuses fails with an AiError whose reason follows the gateway's error", () =>
    Effect.gen(function*() {
      fake.enqueueFault({ kind: "status", status: 429, headers: { "retry-after": "7" } }, 2)
      const error = yield* LanguageModel.generateText({ prompt: `rate limited ${Math.random()}` }).pipe(Effect.flip)
      expect(error).toBeInstanceOf(AiError.AiError)
      expect(error.reason._tag).toBe("RateLimitError")
      expect(error.reason.isRetryable).toBe(true)
      const reason = error.reason as AiError.RateLimitError
      expect(reason.metadata.gateway).toMatchObject({ tag: "RateLimitExceeded" })
      expect(reason.retryAfter === undefined ? undefined : Duration.toMillis(reason.retryAfter)).toBe(7000)
    }).pipe(Effect.provide(layer())))
})
