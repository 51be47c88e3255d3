/**
 * Messages made of parts (notes/rich-messages.md): the gateway's `ChatMessage` is effect/ai's
 * encoded Prompt message, `{ role, content: string }` still decodes, and the exact-cache key
 * covers tools, tool choice and every part (files by the hash of their bytes).
 */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { Prompt } from "effect/ai"
import { type ChatMessage, LLMRequest, messageText } from "@llm-gateway/core/domain/Domain"
import { cacheKey } from "../src/cache/internal/key.ts"

const PNG = Buffer.from("89504e470d0a1a0a", "hex").toString("base64")

const toolRoundTrip: ReadonlyArray<ChatMessage> = [
  { role: "system", content: "You are terse." },
  {
    role: "user",
    content: [
      { type: "text", text: "What is in this picture, and the weather in Paris?" },
      { type: "file", mediaType: "image/png", data: PNG },
      { type: "file", mediaType: "image/jpeg", data: { _tag: "URL", href: "https://example.com/a.jpg" } }
    ]
  },
  {
    role: "assistant",
    content: [
      { type: "reasoning", text: "Need the weather.", options: { anthropic: { signature: "sig" } } },
      { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Paris" } }
    ]
  },
  { role: "tool", content: [{ type: "tool-result", id: "call_1", name: "get_weather", isFailure: false, result: { c: 21 } }] },
  { role: "assistant", content: "A dot; 21 °C in Paris." }
]

describe("ChatMessage", () => {
  it("every message is a valid effect/ai Prompt message", () => {
    const decoded = Schema.decodeUnknownSync(Schema.Array(Prompt.Message))(toolRoundTrip)
    expect(decoded.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant"])
    const call = decoded[2].content[1]
    expect(call).toMatchObject({ type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Paris" } })
  })

  it("a request with parts, tools and a tool choice decodes; string content still does", () => {
    const req = Schema.decodeUnknownSync(LLMRequest)({
      messages: [...toolRoundTrip, { role: "user", content: "thanks" }],
      tools: [{ name: "get_weather", description: "Weather", parameters: { type: "object" }, strict: true }],
      toolChoice: { tool: "get_weather" },
      parallelToolCalls: false,
      reasoning: { effort: "low" }
    })
    expect(req.messages?.at(-1)).toEqual({ role: "user", content: "thanks" })
    expect(() => Schema.decodeUnknownSync(LLMRequest)({ messages: [{ role: "tool", content: "x" }] })).toThrow()
    expect(() => Schema.decodeUnknownSync(LLMRequest)({ messages: [{ role: "user", content: [{ type: "tool-call" }] }] }))
      .toThrow()
  })

  it("messageText joins text parts and ignores the rest", () => {
    expect(toolRoundTrip.map(messageText)).toEqual([
      "You are terse.",
      "What is in this picture, and the weather in Paris?",
      "",
      "",
      "A dot; 21 °C in Paris."
    ])
  })
})

describe("cache key over parts and tools", () => {
  const base: LLMRequest = { messages: toolRoundTrip }
  const key = (req: LLMRequest) => cacheKey(req, "default", ["openai/gpt-4o"])
  const tool = { name: "get_weather", parameters: { type: "object" } }

  it("text-only keys are unchanged by the new fields' absence", () => {
    expect(key({ prompt: "hi" })).toBe(key({ messages: [{ role: "user", content: "hi" }] }))
  })

  it("tools, tool choice, parallel calls and reasoning each change the key", () => {
    const keys = [
      key(base),
      key({ ...base, tools: [tool] }),
      key({ ...base, tools: [{ ...tool, description: "other" }] }),
      key({ ...base, tools: [tool], toolChoice: "required" }),
      key({ ...base, tools: [tool], toolChoice: { tool: "get_weather" } }),
      key({ ...base, tools: [tool], parallelToolCalls: false }),
      key({ ...base, reasoning: { effort: "high" } })
    ]
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("every part changes the key: a tool result, a call's arguments, an image's bytes", () => {
    const swap = (i: number, message: ChatMessage) => key({ messages: toolRoundTrip.map((m, j) => (j === i ? message : m)) })
    const keys = [
      key(base),
      swap(3, { role: "tool", content: [{ type: "tool-result", id: "call_1", name: "get_weather", isFailure: false, result: { c: 22 } }] }),
      swap(3, { role: "tool", content: [{ type: "tool-result", id: "call_1", name: "get_weather", isFailure: true, result: { c: 21 } }] }),
      swap(2, { role: "assistant", content: [{ type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Lyon" } }] }),
      swap(1, {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture, and the weather in Paris?" },
          { type: "file", mediaType: "image/png", data: Buffer.from("other bytes").toString("base64") },
          { type: "file", mediaType: "image/jpeg", data: { _tag: "URL", href: "https://example.com/a.jpg" } }
        ]
      }),
      // A parts array is not the same request as its text as a string.
      key({ messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] }),
      key({ prompt: "hi" })
    ]
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("the same image bytes give the same key, and the key holds no base64", () => {
    const big = Buffer.alloc(50_000, 7).toString("base64")
    const req: LLMRequest = { messages: [{ role: "user", content: [{ type: "file", mediaType: "image/png", data: big }] }] }
    expect(key(req)).toBe(key(structuredClone(req)))
  })
})
