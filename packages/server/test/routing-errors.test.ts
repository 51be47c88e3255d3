/**
 * Issues 11 and 20 through the running server and the official `openai` client: a request that
 * fails on every candidate says which model was asked for and why each candidate fell out; a
 * model asked for the wrong kind of work is a 400 naming it.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CANARY_KEY, configFor, type Fakes, type Gateway, startFakes, startGateway } from "./support/harness.ts"

let fakes: Fakes
let gw: Gateway

beforeAll(async () => {
  fakes = await startFakes()
  const base = configFor(fakes) as { providers: ReadonlyArray<{ name: string }> }
  gw = await startGateway(configFor(fakes, {
    providers: base.providers.map((p) =>
      // anthropic unreachable: every call to it fails with a connection error
      p.name === "anthropic" ? { ...p, baseUrl: "http://127.0.0.1:9" } : p
    ),
    routing: {
      strategy: "balanced",
      fallbackOrder: ["openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307"],
      maxRetries: 0,
      timeoutMs: 5000,
      attemptTimeoutMs: 3000,
      circuitBreaker: { failureThreshold: 2, successThreshold: 1, openMs: 60_000 }
    },
    cache: { enabled: false }
  }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const ask = (model: string) =>
  gw.client().chat.completions.create({ model, messages: [{ role: "user", content: "hello" }] }).then(
    () => undefined,
    (e: unknown) => e
  )

describe("a request every candidate refuses", () => {
  it("after the circuits open, the 503 names the requested model and each candidate's reason", async () => {
    fakes.openai.enqueueFault({ kind: "status", status: 500 }, 2)
    // two failures each open both circuits
    for (let i = 0; i < 2; i++) expect(await ask("openai/gpt-4o-mini")).toBeInstanceOf(OpenAI.APIError)
    const e = await ask("openai/gpt-4o-mini")
    expect(e).toBeInstanceOf(OpenAI.APIError)
    const err = e as InstanceType<typeof OpenAI.APIError>
    expect(err.status).toBe(503)
    expect(err.code).toBe("model_unavailable")
    expect(err.message).toMatch(/^503 openai\/gpt-4o-mini: no candidate answered: /)
    expect(err.message).toContain("openai/gpt-4o-mini: circuit open (retry in 60 s)")
    expect(err.message).toContain("anthropic/claude-3-haiku-20240307: circuit open (retry in 60 s)")
    // `auto` names the task instead
    const auto = await ask("auto") as InstanceType<typeof OpenAI.APIError>
    expect(auto.status).toBe(503)
    expect(auto.message).toMatch(/^503 auto: no candidate answered for task general: openai\/gpt-4o-mini: circuit open/)
    expect(auto.message).not.toContain(CANARY_KEY)
  })
})

describe("the wrong kind of model", () => {
  it("chat on an embedding model and embeddings on a chat model are 400s naming the model", async () => {
    const before = fakes.openai.server.requests.length
    const chat = await ask("openai/text-embedding-3-small") as InstanceType<typeof OpenAI.APIError>
    expect(chat).toBeInstanceOf(OpenAI.BadRequestError)
    expect(chat.code).toBe("invalid_request")
    expect(chat.message).toContain("openai/text-embedding-3-small")
    const embed = await gw.client().embeddings.create({ model: "openai/gpt-4o-mini", input: "hello" }).then(
      () => undefined,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>
    )
    expect(embed).toBeInstanceOf(OpenAI.BadRequestError)
    expect(embed?.message).toContain("openai/gpt-4o-mini")
    expect(fakes.openai.server.requests.length).toBe(before)
  })
})
