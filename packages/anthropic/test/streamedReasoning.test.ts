/**
 * Issue 13: an Anthropic stream with both a `redacted_thinking` and a `thinking` block, rebuilt
 * into parts the way the manager rebuilds a streamed answer for the cache (`StreamedParts`),
 * keeps both blocks with their own payloads — the redacted data and the signature — so the
 * answer can be sent back in the next turn byte for byte (the fake refuses a thinking block it
 * did not issue). One merged reasoning part kept only the last block's metadata.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ChatMessage } from "@llm-gateway/core/domain/Domain"
import { partChunks, StreamedParts } from "@llm-gateway/core/domain/StreamedParts"
import { fakeSignature } from "@llm-gateway/testing/FakeAnthropic"
import { request, setup } from "./fixtures.ts"

const reasoning = { budgetTokens: 1024 }
const redacted = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"
const thought = "The user wants a greeting."

describe("Anthropic streamed reasoning rebuilt for the cache", () => {
  it.live("redacted_thinking and thinking both survive, each with its payload, and go back unchanged", () =>
    Effect.gen(function*() {
      const { fake, client } = yield* setup()
      fake.script([{ redactedThinking: redacted, reasoning: thought, text: "Hello." }, { text: "Again." }])
      const chunks = Array.from(yield* Stream.runCollect(client.stream(request({ reasoning }))))
      const streamed = new StreamedParts()
      let content = ""
      for (const c of chunks) {
        streamed.add(c)
        content += c.delta
      }
      const parts = streamed.parts(content)
      expect(parts).toEqual([
        { type: "reasoning", text: "", metadata: { anthropic: { redactedData: redacted } } },
        { type: "reasoning", text: thought, metadata: { anthropic: { signature: fakeSignature(thought) } } },
        { type: "text", text: "Hello." }
      ])

      // a cache hit replays the parts as chunks; rebuilt again they are the same parts
      const { before } = partChunks(parts)
      const replayed = new StreamedParts()
      for (const c of before) replayed.add(c)
      expect(replayed.parts("Hello.")).toEqual(parts)

      // the next turn sends both blocks back; the fake accepts only what it issued
      const assistant: ChatMessage = {
        role: "assistant",
        content: parts!.map((p) =>
          p.type === "reasoning"
            ? { type: "reasoning" as const, text: p.text, options: p.metadata }
            : { type: "text" as const, text: p.type === "text" ? p.text : "" }
        )
      }
      const next = yield* client.generate(request({
        reasoning,
        messages: [{ role: "user", content: "Say hello." }, assistant, { role: "user", content: "again" }]
      }))
      expect(next.content).toBe("Again.")
      expect(fake.messageBodies()[1]!.messages[1]!.content).toEqual([
        { type: "redacted_thinking", data: redacted },
        { type: "thinking", thinking: thought, signature: fakeSignature(thought) },
        { type: "text", text: "Hello." }
      ])
    }))
})
