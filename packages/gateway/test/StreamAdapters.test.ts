import { describe, expect, it } from "vitest"
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { createDefaultLLMManager, toAsyncIterable, toReadableStream, toTextStream } from "../src/index.ts"

describe("streams for code without Effect", () => {
  it("for await over chunks, a ReadableStream of chunks, and a text stream; a failure is thrown", async () => {
    const fake = await startFakeOpenAI({ reply: "one two three four", chunks: 4 })
    const manager = createDefaultLLMManager({
      env: { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: "sk-test", LLM_CONVERSATIONS_STORE: "memory", LLM_CACHE_ENABLED: "false" }
    })
    try {
      const deltas: Array<string> = []
      let last
      for await (const chunk of toAsyncIterable(manager.generateStream({ prompt: "count" }))) {
        deltas.push(chunk.delta)
        last = chunk
      }
      expect(deltas.join("")).toBe("one two three four")
      expect(last?.usage?.completionTokens).toBe(4)

      const reader = toReadableStream(manager.generateStream({ prompt: "count again" })).getReader()
      let text = ""
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value.delta
      expect(text).toBe("one two three four")

      const pieces: Array<string> = []
      const textReader = toTextStream(manager.generateStream({ prompt: "and again" })).getReader()
      for (let r = await textReader.read(); !r.done; r = await textReader.read()) pieces.push(r.value)
      expect(pieces.join("")).toBe("one two three four")
      expect(pieces.every((p) => p.length > 0)).toBe(true)

      fake.enqueueFault({ kind: "status", status: 400 })
      const failing = async () => {
        for await (const _ of toAsyncIterable(manager.generateStream({ prompt: "bad" }))) void _
      }
      await expect(failing()).rejects.toMatchObject({ _tag: "InvalidRequest" })
    } finally {
      await manager.dispose()
      await fake.close()
    }
  })
})
