/** The field rule (RequestFields): what a provider does with fields the gateway does not interpret. */
import { describe, expect, it } from "@effect/vitest"
import { decideFields, defaultPolicy, openAIWirePolicy } from "../src/providers/RequestFields.ts"

describe("decideFields", () => {
  it("OpenAI's wire passes every field unchanged, known or not", () => {
    const extra = { logprobs: true, logit_bias: { "1": 2 }, top_k: 5 }
    expect(decideFields(openAIWirePolicy(true), extra)).toEqual({ send: extra, ignored: [], refused: undefined })
  })

  it("elsewhere: mapped fields are sent, answer-changing ones refused, the rest ignored in order", () => {
    const policy = { otherwise: "drop" as const, mapped: ["seed"] }
    expect(decideFields(policy, { user: "u", seed: 3, service_tier: "flex", presence_penalty: 1, logprobs: true })).toEqual({
      send: { seed: 3 },
      ignored: ["user", "service_tier"],
      refused: "presence_penalty"
    })
  })

  it.each([
    ["logprobs", false],
    ["top_logprobs", 0],
    ["frequency_penalty", 0],
    ["presence_penalty", 0],
    ["logit_bias", {}],
    ["modalities", ["text"]]
  ])("a neutral %s (%j) is ignored, not refused", (field, value) => {
    expect(decideFields(defaultPolicy, { [field]: value })).toEqual({ send: undefined, ignored: [field], refused: undefined })
  })

  it("null means not given: neither sent nor named", () => {
    expect(decideFields(defaultPolicy, { user: null, seed: undefined })).toEqual({ send: undefined, ignored: [], refused: undefined })
  })

  it("a client that declares nothing maps nothing", () => {
    expect(decideFields(undefined, { seed: 1, logit_bias: { "5": 1 } })).toEqual({ send: undefined, ignored: ["seed"], refused: "logit_bias" })
  })
})
