import { describe, expect, it } from "@effect/vitest"
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { loopbackServer, sendJson } from "@llm-gateway/testing/LoopbackServer"
import { Effect } from "effect"
import { makeLLMManager } from "../src/index.ts"

const VOCAB = ["what", "is", "the", "cpu", "usage", "disk", "space", "left", "memory"]

/** A bag-of-words embedding: the same words in any case or punctuation give the same vector. */
const bagOfWords = (text: string) => {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? []
  return VOCAB.map((w) => words.filter((x) => x === w).length)
}

describe("semantic cache wired from config (cache.semantic.model)", () => {
  it.live("a paraphrase close enough is answered from the cache; a different question is not", () =>
    Effect.gen(function*() {
      const chat = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeOpenAI({ reply: (req) => `answer to: ${req.messages.at(-1)?.content}` })),
        (f) => Effect.promise(() => f.close())
      )
      const embedCalls: Array<ReadonlyArray<string>> = []
      const embeddings = yield* loopbackServer(({ res, path, body }) => {
        if (path !== "/v1/embeddings") return sendJson(res, 404, { error: { message: "not here" } })
        const input = (body as { input: string | Array<string> }).input
        const texts = typeof input === "string" ? [input] : input
        embedCalls.push(texts)
        sendJson(res, 200, {
          object: "list",
          model: "bow",
          data: texts.map((t, index) => ({ object: "embedding", index, embedding: bagOfWords(t) })),
          usage: { prompt_tokens: texts.length, total_tokens: texts.length }
        })
      })
      const manager = yield* makeLLMManager({
        providers: [
          { name: "openai", type: "openai-compatible", baseUrl: chat.baseUrl, models: [{ id: "gpt-4o-mini" }] },
          { name: "emb", type: "openai-compatible", baseUrl: `${embeddings.url}/v1`, models: [{ id: "bow", embedding: true }] }
        ],
        cache: { enabled: true, semantic: { enabled: true, threshold: 0.95, model: "emb/bow" } },
        conversations: { store: "memory" }
      })
      const first = yield* manager.generate({ prompt: "What is the CPU usage?" })
      expect(first.cached).toBe(false)
      const paraphrase = yield* manager.generate({ prompt: "what is the cpu usage" })
      expect(paraphrase.cached).toBe(true)
      expect(paraphrase.content).toBe("answer to: What is the CPU usage?")
      const other = yield* manager.generate({ prompt: "What is the disk space left?" })
      expect(other.cached).toBe(false)
      expect(other.content).toBe("answer to: What is the disk space left?")
      expect(embedCalls.length).toBeGreaterThanOrEqual(3)
      expect(chat.server.requests.filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(2)
    }).pipe(Effect.scoped))
})
