/**
 * The Responses event encoder on its own: reasoning, text and two interleaved tool calls in one
 * stream keep OpenAI's item structure (every event valid, output indexes and item ids consistent,
 * sequence numbers 0, 1, 2, …), and a failure closes what is open before `response.failed`.
 */
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import { describe, expect, it } from "vitest"
import { invalidApiKey } from "../src/HttpError.ts"
import { ResponsesEncoder } from "../src/internal/responsesStream.ts"
import { readResponsesRequest, type ResponsesCall } from "../src/internal/responsesWire.ts"
import { sseEvents, violations } from "./support/responsesSchema.ts"

const call = readResponsesRequest({ task: undefined, strategy: undefined, noCache: false })({
  model: "p/m",
  input: "hi",
  tools: [{ type: "function", name: "f", parameters: { type: "object" } }, { type: "function", name: "g", parameters: { type: "object" } }]
}) as ResponsesCall

const usage = { promptTokens: 5, completionTokens: 7, totalTokens: 12, reasoningTokens: 2 }

const chunks: Array<StreamChunk> = [
  { delta: "", reasoningDelta: "Think " },
  { delta: "", reasoningDelta: "first." },
  { delta: "Hello" },
  { delta: " there" },
  { delta: "", toolCallDeltas: [{ index: 0, id: "c1", name: "f", argumentsDelta: "{\"a\"" }] },
  { delta: "", toolCallDeltas: [{ index: 1, id: "c2", name: "g", argumentsDelta: "{}" }] },
  { delta: "", toolCallDeltas: [{ index: 0, argumentsDelta: ":1}" }] },
  { delta: "", finishReason: "tool_calls", usage }
]

describe("ResponsesEncoder", () => {
  it("keeps items whole across interleaved calls; every event valid and numbered in order", () => {
    const encoder = new ResponsesEncoder(call, "resp_t", 1_700_000_000, "p/m")
    const text = encoder.start() + encoder.chunks(chunks.slice(0, 3)) + encoder.chunks(chunks.slice(3)) + encoder.end()
    const events = sseEvents(text)
    for (const e of events) expect(violations("ResponseStreamEvent", e.data), e.event).toEqual([])
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i))
    const added = events.filter((e) => e.event === "response.output_item.added").map((e) => [e.data.output_index, (e.data.item as { type: string }).type])
    expect(added).toEqual([[0, "reasoning"], [1, "message"], [2, "function_call"], [3, "function_call"]])
    // the late fragment of the first call goes to the first call's item
    const deltas = events.filter((e) => e.event === "response.function_call_arguments.delta").map((e) => [e.data.output_index, e.data.delta])
    expect(deltas).toEqual([[2, "{\"a\""], [3, "{}"], [2, ":1}"]])
    const done = events.at(-1)!
    expect(done.event).toBe("response.completed")
    const response = done.data.response as { output: Array<Record<string, unknown>>; usage: Record<string, unknown> }
    expect(response.output).toMatchObject([
      { type: "reasoning", summary: [{ type: "summary_text", text: "Think first." }] },
      { type: "message", content: [{ type: "output_text", text: "Hello there" }] },
      { type: "function_call", call_id: "c1", name: "f", arguments: "{\"a\":1}" },
      { type: "function_call", call_id: "c2", name: "g", arguments: "{}" }
    ])
    expect(response.usage).toMatchObject({ input_tokens: 5, output_tokens: 7, total_tokens: 12, output_tokens_details: { reasoning_tokens: 2 } })
    const itemDone = events.filter((e) => e.event === "response.output_item.done").map((e) => e.data.output_index)
    expect(itemDone.sort()).toEqual([0, 1, 2, 3])
  })

  it("a failure mid-text closes the open item, then response.failed", () => {
    const encoder = new ResponsesEncoder(call, "resp_f", 1_700_000_000, "p/m")
    const events = sseEvents(encoder.start() + encoder.chunks([{ delta: "Hel" }]) + encoder.error(invalidApiKey))
    for (const e of events) expect(violations("ResponseStreamEvent", e.data), e.event).toEqual([])
    expect(events.slice(-3).map((e) => e.event)).toEqual(["response.content_part.done", "response.output_item.done", "response.failed"])
    expect(events.at(-1)!.data.response).toMatchObject({ status: "failed", error: { code: "server_error" }, output: [{ type: "message" }] })
  })
})
