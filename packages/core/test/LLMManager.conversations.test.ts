/**
 * Long conversations keep working once their history fills the model's window: the manager
 * trims the history with a count the router's window check agrees with, so a turn is never
 * refused for the history (issue 20: long English prose runs at ~5 chars per token, above the
 * router's chars÷4 estimate, and from the turn the window filled every turn was a 400).
 * The upstream here refuses like a real one: by the tokenizer's count plus `max_tokens`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Stream } from "effect"
import { countTokens } from "gpt-tokenizer"
import { CacheService, defaultConfig } from "../src/cache/CacheService.ts"
import { ConversationStorage } from "../src/conversations/ConversationStorage.ts"
import type { ProviderRequest } from "../src/domain/Domain.ts"
import { makeUsage, messageText } from "../src/domain/Domain.ts"
import { ContextTooLarge } from "../src/domain/LLMError.ts"
import { LLMManager } from "../src/manager/LLMManager.ts"
import { embeddingsUnsupported, type ModelClientShape } from "../src/providers/ModelClient.ts"
import { ModelClients } from "../src/providers/ModelClients.ts"
import { ModelRouter } from "../src/routing/ModelRouter.ts"
import { UsageAccounting } from "../src/accounting/UsageAccounting.ts"
import { gatewayConfig, provider } from "./router/fixtures.ts"

const WINDOW = 1024
const MAX_TOKENS = 100

const sentences = [
  "The monitoring dashboards showed that memory consumption climbed steadily throughout the afternoon.",
  "Engineers investigated whether the scheduler had started retrying failed deployments repeatedly.",
  "Several administrators remembered similar behaviour after the previous infrastructure migration.",
  "Eventually somebody noticed that configuration templates contained an outdated replication setting.",
  "Everyone agreed that documentation describing recovery procedures deserved considerable improvement."
]
/** Long English prose: ~5.5 characters per token, so chars÷4 overestimates its tokens. */
const prose = (turn: number, n: number) =>
  Array.from({ length: n }, (_, i) => sentences[(turn + i) % sentences.length]).join(" ")

/** What an OpenAI-style upstream counts: the tokenizer, a few tokens per message, plus max_tokens. */
const upstreamTokens = (req: ProviderRequest) =>
  3 + req.messages.reduce((n, m) => n + 4 + countTokens(messageText(m)), 0)

const windowedUpstream = () => {
  const seen: Array<number> = []
  const client: ModelClientShape = {
    provider: "openai",
    type: "openai",
    generate: (req) => {
      const prompt = upstreamTokens(req)
      seen.push(prompt)
      if (prompt + (req.maxTokens ?? 0) > WINDOW) {
        return Effect.fail(new ContextTooLarge({ model: `openai/${req.model}`, tokenCount: prompt, contextWindow: WINDOW }))
      }
      return Effect.succeed({ content: prose(seen.length, 2), model: req.model, usage: makeUsage(prompt, 40), finishReason: "stop" as const })
    },
    stream: () => Stream.die("not used"),
    embed: embeddingsUnsupported("openai"),
    health: Effect.succeed({ healthy: true, latencyMs: 0 })
  }
  return { client, seen }
}

const managerLayer = (client: ModelClientShape) => {
  const config = gatewayConfig([provider("openai", "openai", [{ id: "gpt-4o-mini", contextWindow: WINDOW }])], {
    fallbackOrder: ["openai/gpt-4o-mini"],
    maxRetries: 0
  })
  const router = ModelRouter.layerFrom(config).pipe(
    Layer.provide(ModelClients.layerFrom([client])),
    Layer.provide(ModelRouter.layerMemoryStores)
  )
  return LLMManager.layerNoDeps.pipe(
    Layer.provideMerge(Layer.mergeAll(
      router,
      CacheService.layerMemory(defaultConfig),
      ConversationStorage.layerMemory(),
      UsageAccounting.layerMemory
    ))
  )
}

describe("LLMManager conversations", () => {
  it.live("200 turns of long prose against a 1,024-token window: every turn is answered and fits", () => {
    const upstream = windowedUpstream()
    return Effect.gen(function*() {
      const manager = yield* LLMManager
      const failures: Array<string> = []
      for (let turn = 0; turn < 200; turn++) {
        const exit = yield* Effect.exit(
          manager.chat("long-prose", prose(turn, 3), { system: "You are a terse operations assistant.", preferences: { maxTokens: MAX_TOKENS } })
        )
        if (Exit.isFailure(exit)) failures.push(`turn ${turn}: ${String(exit.cause)}`)
        // A one-character turn after a full window is answered too.
        if (turn === 150) {
          const short = yield* Effect.exit(manager.chat("long-prose", "?", { preferences: { maxTokens: MAX_TOKENS } }))
          if (Exit.isFailure(short)) failures.push(`one-character turn: ${String(short.cause)}`)
        }
      }
      expect(failures.slice(0, 3)).toEqual([])
      expect(upstream.seen).toHaveLength(201)
      // the window was really filled (trimming happened), and no request went over it
      expect(Math.max(...upstream.seen)).toBeGreaterThan(WINDOW / 3)
      expect(Math.max(...upstream.seen) + MAX_TOKENS).toBeLessThanOrEqual(WINDOW)
      // the stored history is whole: trimming shapes the request, not the conversation
      const stored = yield* manager.getConversation("long-prose")
      expect(stored.messages).toHaveLength(1 + 2 * 201)
    }).pipe(Effect.provide(managerLayer(upstream.client)))
  }, 60_000)

  it.effect("getConversation / deleteConversation are scoped to the caller; unknown ids are ConversationNotFound", () => {
    const upstream = windowedUpstream()
    return Effect.gen(function*() {
      const manager = yield* LLMManager
      yield* manager.chat("c1", "hello", { scope: "tenant-a" })
      expect((yield* manager.getConversation("c1", { scope: "tenant-a" })).messages.map((m) => m.role)).toEqual(["user", "assistant"])
      const otherTenant = yield* Effect.flip(manager.getConversation("c1", { scope: "tenant-b" }))
      expect(otherTenant._tag).toBe("ConversationNotFound")
      expect((yield* Effect.flip(manager.deleteConversation("c1", { scope: "tenant-b" })))._tag).toBe("ConversationNotFound")
      yield* manager.deleteConversation("c1", { scope: "tenant-a" })
      expect((yield* Effect.flip(manager.getConversation("c1", { scope: "tenant-a" })))._tag).toBe("ConversationNotFound")
      // the id starts a fresh conversation afterwards
      yield* manager.chat("c1", "again", { scope: "tenant-a" })
      expect((yield* manager.getConversation("c1", { scope: "tenant-a" })).messages).toHaveLength(2)
    }).pipe(Effect.provide(managerLayer(upstream.client)))
  })
})
