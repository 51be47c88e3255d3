/** What the manager's GenAI spans say about a request and its answer (metrics/GenAiSpans). */
import type { GatewayConfig } from "../../config/ConfigSchema.ts"
import type { LLMRequest, LLMResponse } from "../../domain/Domain.ts"
import { providerName } from "../../metrics/GenAiSpans.ts"

export const makeSpanNaming = (config: GatewayConfig | undefined) => {
  // gen_ai.provider.name is the provider's kind (`openai`, `anthropic`), not its configured name
  const providerTypes = new Map(config !== undefined ? config.providers.map((p) => [p.name, providerName(p.type)]) : [])
  return {
    genAiProvider: (r: LLMResponse) => providerTypes.get(r.provider) ?? r.provider,
    spanRequest: (req: LLMRequest) => ({
      model: req.model ?? "auto",
      maxTokens: req.preferences?.maxTokens,
      temperature: req.preferences?.temperature,
      topP: req.preferences?.topP
    })
  }
}

export type SpanNaming = ReturnType<typeof makeSpanNaming>
