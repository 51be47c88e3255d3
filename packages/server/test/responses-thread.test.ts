/**
 * Stored Responses: `previous_response_id` continues a thread on another gateway instance sharing
 * the conversation store (one SQLite file; one Postgres), `GET` / `DELETE /v1/responses/{id}`,
 * `store: false` keeps nothing, and another tenant's response reads as absent.
 */
import { startFakeOpenAI, type FakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import OpenAI from "openai"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Gateway, raw, startGateway, unique } from "./support/harness.ts"
import { violations } from "./support/responsesSchema.ts"

const KEYS = ["gw-thread-a", "gw-thread-b"]
const MODEL = "openai/gpt-4o-mini"

let upstream: FakeOpenAI
let dir: string
const gateways: Array<Gateway> = []

const configWith = (conversations: Record<string, unknown>) => ({
  server: { apiKeys: KEYS },
  // openai-compatible: the translated path (a deployment of type openai is answered natively)
  providers: [{ name: "openai", type: "openai-compatible", baseUrl: upstream.baseUrl, apiKey: "sk-up", models: [{ id: "gpt-4o-mini", contextWindow: 128000 }] }],
  routing: { fallbackOrder: [MODEL], maxRetries: 0, timeoutMs: 5000, attemptTimeoutMs: 3000 },
  cache: { enabled: false, ttlSeconds: 60, maxSize: 10 },
  conversations
})

/** Two instances over one store. */
const pair = async (conversations: Record<string, unknown>): Promise<[Gateway, Gateway]> => {
  const [a, b] = await Promise.all([startGateway(configWith(conversations)), startGateway(configWith(conversations))])
  gateways.push(a, b)
  return [a, b]
}

let sqlite: [Gateway, Gateway]
let postgres: [Gateway, Gateway]

beforeAll(async () => {
  // echoes the conversation it was sent, so a test sees the thread that reached the upstream
  upstream = await startFakeOpenAI({ reply: (req) => `seen ${req.messages.length}: ${req.messages.map((m) => m.role).join(",")}`, apiKey: "sk-up" })
  dir = mkdtempSync(join(tmpdir(), "responses-thread-"))
  ;[sqlite, postgres] = await Promise.all([
    pair({ store: "sqlite", path: join(dir, "conversations.db") }),
    pair({ store: "postgres", url: process.env.DATABASE_URL! })
  ])
})
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()))
  await upstream?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const client = (gw: Gateway, key = KEYS[0]) => new OpenAI({ baseURL: gw.baseURL, apiKey: key, maxRetries: 0, timeout: 10_000 })

describe.each([["one SQLite file", () => sqlite], ["one Postgres", () => postgres]] as const)("two instances sharing %s", (_, instances) => {
  it("a follow-up on the second instance continues the first's thread; GET and DELETE there too", async () => {
    const [a, b] = instances()
    const first = await client(a).responses.create({ model: MODEL, instructions: "Be brief.", input: unique("My name is Ada.") })
    expect(first.output_text).toBe("seen 2: system,user")
    const second = await client(b).responses.create({ model: MODEL, input: "What is my name?", previous_response_id: first.id })
    // the stored thread (first input and answer) before the new input; the instructions are not carried over
    expect(second.output_text).toBe("seen 3: user,assistant,user")
    expect(second.previous_response_id).toBe(first.id)
    const sent = upstream.lastBody()!.messages as Array<{ role: string; content: unknown }>
    expect(sent[1]).toEqual({ role: "assistant", content: "seen 2: system,user" })

    const got = await client(b).responses.retrieve(first.id)
    expect(got).toMatchObject({ id: first.id, object: "response", status: "completed", output: first.output })
    expect(violations("Response", got)).toEqual([])
    // another tenant cannot see or delete it
    for (const method of ["GET", "DELETE"]) {
      const other = await raw(`${b.url}/v1/responses/${first.id}`, { method, headers: { authorization: `Bearer ${KEYS[1]}` } })
      expect([method, other.status]).toEqual([method, 404])
    }
    const deleted = await raw(`${a.url}/v1/responses/${first.id}`, { method: "DELETE", headers: { authorization: `Bearer ${KEYS[0]}` } })
    expect(deleted.json).toEqual({ id: first.id, object: "response.deleted", deleted: true })
    const gone = await client(b).responses.retrieve(first.id).catch((e: unknown) => e)
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError)
    const orphan = await client(b).responses.create({ model: MODEL, input: "again", previous_response_id: first.id }).catch((e: unknown) => e)
    expect((orphan as InstanceType<typeof OpenAI.APIError>).code).toBe("previous_response_not_found")
  })

  it("a streamed response is stored before response.completed reaches the client", async () => {
    const [a, b] = instances()
    const stream = client(a).responses.stream({ model: MODEL, input: unique("Streamed turn") })
    const final = await stream.finalResponse()
    const next = await client(b).responses.create({ model: MODEL, input: "And then?", previous_response_id: final.id })
    expect(next.output_text).toBe("seen 3: user,assistant,user")
  })

  it("store: false keeps nothing: GET is a 404 and the id cannot be continued", async () => {
    const [a, b] = instances()
    const r = await client(a).responses.create({ model: MODEL, input: unique("forget me"), store: false })
    expect((r as unknown as { store: boolean }).store).toBe(false)
    const got = await client(b).responses.retrieve(r.id).catch((e: unknown) => e)
    expect(got).toBeInstanceOf(OpenAI.NotFoundError)
  })
})
