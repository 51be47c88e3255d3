/**
 * Shared test setup: a FakeOpenAI on loopback and a client built from a ProviderConfig that
 * points at it, both closed with the test's scope. The key is a canary: no error may show it.
 */
import { describe } from "@effect/vitest"
import type { OpenAIWireConfig } from "../src/OpenAIProvider.ts"
import { fakeOpenAI, type FakeOpenAIOptions } from "@llm-gateway/testing/FakeOpenAI"
import { Effect, Redacted } from "effect"
import { makeOpenAIClient, type OpenAIClientOptions } from "../src/OpenAIClient.ts"

export const CANARY = "sk-canary-4c1d9e77b0a2f3"

export const providerConfig = (baseUrl: string, overrides: Partial<OpenAIWireConfig> = {}): OpenAIWireConfig => ({
  name: "oai",
  type: "openai",
  baseUrl,
  apiKey: Redacted.make(CANARY),
  models: [{ id: "gpt-4o-mini" }, { id: "text-embedding-3-small", embedding: true }],
  ...overrides
})

export interface SetupOptions {
  readonly fake?: FakeOpenAIOptions
  readonly config?: Partial<OpenAIWireConfig>
  readonly client?: OpenAIClientOptions
}

export const setup = (options: SetupOptions = {}) =>
  Effect.gen(function*() {
    const fake = yield* fakeOpenAI({ apiKey: CANARY, ...options.fake })
    const client = yield* makeOpenAIClient(providerConfig(fake.baseUrl, options.config), options.client)
    return { fake, client }
  })

export const ask = (content: string, extra: Partial<{ maxTokens: number; model: string }> = {}) => ({
  model: extra.model ?? "gpt-4o-mini",
  messages: [{ role: "user" as const, content }],
  maxTokens: extra.maxTokens
})

/** Polls (real time) until `check` holds; for waiting on the fake to see a request. */
export const waitUntil = (check: () => boolean, timeoutMs = 2_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error("condition not reached in time"))
      yield* Effect.sleep(5)
    }
  })

/** Both ways chat reaches the upstream; every chat behaviour is tested on each. */
export const TRANSPORTS = ["direct", "sdk"] as const
export type TransportName = (typeof TRANSPORTS)[number]

/** `setup` and `makeOpenAIClient` bound to one transport. */
export interface TransportFixture {
  readonly transport: TransportName
  readonly setup: typeof setup
  readonly makeClient: typeof makeOpenAIClient
}

export const fixtureFor = (transport: TransportName): TransportFixture => ({
  transport,
  setup: (options = {}) => setup({ ...options, client: { transport, ...options.client } }),
  makeClient: (config, options) => makeOpenAIClient(config, { transport, ...options })
})

/** Declares `suite` once per transport: `describe("<name> [direct]")`, `describe("<name> [sdk]")`. */
export const eachTransport = (name: string, suite: (t: TransportFixture) => void) =>
  describe.each(TRANSPORTS)(`${name} [%s]`, (transport) => suite(fixtureFor(transport)))
