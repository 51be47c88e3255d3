/** Shared setup: the real SDK client pointed at the loopback fake. */
import { type AnthropicClientOptions, makeAnthropicClient } from "../src/AnthropicClient.ts"
import type { AnthropicConfig } from "../src/AnthropicProvider.ts"
import type { ProviderRequest } from "@llm-gateway/core/domain/Domain"
import { type FakeAnthropicOptions, fakeAnthropic } from "@llm-gateway/testing/FakeAnthropic"
import { expect } from "@effect/vitest"
import { Effect, Redacted } from "effect"

/** A key that must never show up in an error, a health report or a log line. */
export const CANARY = "sk-ant-canary-4b1d9e7c2f8a"
export const MODEL = "claude-3-haiku-20240307"

export const providerConfig = (baseUrl: string, over: Partial<AnthropicConfig> = {}): AnthropicConfig => ({
  name: "anthropic",
  type: "anthropic",
  baseUrl,
  apiKey: Redacted.make(CANARY),
  models: [{ id: MODEL, contextWindow: 200000, maxOutputTokens: 1024 }],
  ...over
})

export const request = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: MODEL,
  messages: [{ role: "user", content: "Say hello." }],
  ...over
})

/** The fake (checking the canary key) and a client on it; both closed with the test's scope. */
export const setup = (
  fakeOptions: FakeAnthropicOptions = {},
  over: Partial<AnthropicConfig> = {},
  clientOptions?: AnthropicClientOptions
) =>
  Effect.gen(function*() {
    const fake = yield* fakeAnthropic({ apiKey: CANARY, ...fakeOptions })
    const client = yield* makeAnthropicClient(providerConfig(fake.url, over), clientOptions)
    return { fake, client }
  })

/** Every way an error can be shown must be free of the key. */
export const expectNoSecret = (value: unknown) => {
  const renderings = [String(value), JSON.stringify(value) ?? ""]
  if (value instanceof Error) renderings.push(value.message, value.stack ?? "")
  for (const text of renderings) expect(text).not.toContain(CANARY)
}

/** Polls (real time) until `cond` holds; loopback events need a few ms. */
export const eventually = (cond: () => boolean, timeoutMs = 2_000) =>
  Effect.promise(async () => {
    const until = Date.now() + timeoutMs
    while (!cond()) {
      if (Date.now() > until) throw new Error("condition not reached in time")
      await new Promise((r) => setTimeout(r, 5))
    }
  })
