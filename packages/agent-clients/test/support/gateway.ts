/**
 * One gateway per test file, in-process, whose only provider is OpenAI-wire (a FakeOpenAI on
 * loopback): every agent client here speaks another API to the gateway (Anthropic's Messages,
 * OpenAI's Responses), and the gateway translates it to chat completions upstream. The fake is
 * declared `openai-compatible`: a deployment of type `openai` would answer `/v1/responses` natively
 * (pass-through), and these tests are about the translation.
 */
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { type Gateway, startGateway } from "../../../server/test/support/harness.ts"

export const GATEWAY_KEY = "gw-agents-key"
export const MODEL = "openai/gpt-4o-mini"
const UPSTREAM_KEY = "up-agents-key"

export interface AgentsGateway {
  readonly gateway: Gateway
  readonly upstream: FakeOpenAI
  readonly close: () => Promise<void>
}

export const startAgentsGateway = async (): Promise<AgentsGateway> => {
  const upstream = await startFakeOpenAI({ apiKey: UPSTREAM_KEY })
  const gateway = await startGateway({
    server: { apiKeys: [GATEWAY_KEY] },
    providers: [{
      name: "openai",
      type: "openai-compatible",
      baseUrl: upstream.baseUrl,
      apiKey: UPSTREAM_KEY,
      models: [{ id: "gpt-4o-mini", contextWindow: 128000, maxOutputTokens: 16384, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
    }],
    routing: { fallbackOrder: [MODEL], maxRetries: 0, timeoutMs: 20_000, attemptTimeoutMs: 15_000 },
    // each agent turn must reach the fake: a cached answer would hide what the client sent
    cache: { enabled: false },
    conversations: { store: "memory" }
  })
  return {
    gateway,
    upstream,
    close: async () => {
      await gateway.close()
      await upstream.close()
    }
  }
}

/** The text of every message the upstream received with `role`, across all requests (tool results: role "tool"). */
export const upstreamContents = (upstream: FakeOpenAI, role: string): Array<string> =>
  upstream.requests().flatMap((r) =>
    r.messages.filter((m) => m.role === role).map((m) =>
      typeof m.content === "string" ? m.content : JSON.stringify(m.content)
    )
  )
