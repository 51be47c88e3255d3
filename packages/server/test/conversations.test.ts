/**
 * `GET` / `DELETE /api/v1/llm/conversations/{id}`: a tenant reads and forgets the conversations
 * it keeps through `POST /api/v1/llm/chat`; another tenant's id is a 404, like an unknown one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

let fakes: Fakes
let gw: Gateway
beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes, { server: { apiKeys: ["key-tenant-a", "key-tenant-b"] } }))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

const call = (method: string, path: string, key: string | undefined, body?: unknown) =>
  raw(`${gw.url}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` }
  })

describe("/api/v1/llm/conversations/{id}", () => {
  it("returns the history of the caller's conversation, 404 for another tenant's, and deletes it", async () => {
    const id = unique("conv")
    const chat = await call("POST", "/api/v1/llm/chat", "key-tenant-a", {
      conversation_id: id,
      provider: "ollama",
      messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Status?" }]
    })
    expect(chat.status).toBe(200)

    const got = await call("GET", `/api/v1/llm/conversations/${encodeURIComponent(id)}`, "key-tenant-a")
    expect(got.status).toBe(200)
    expect(got.json).toMatchObject({
      conversation_id: id,
      message_count: 3,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Status?" },
        { role: "assistant", content: "Hello from fake Ollama" }
      ]
    })

    for (const method of ["GET", "DELETE"]) {
      const other = await call(method, `/api/v1/llm/conversations/${encodeURIComponent(id)}`, "key-tenant-b")
      expect([method, other.status]).toEqual([method, 404])
      expect((other.json as { error: Record<string, unknown> }).error).toMatchObject({ code: "conversation_not_found" })
    }
    expect((await call("GET", `/api/v1/llm/conversations/${encodeURIComponent(id)}`, undefined)).status).toBe(401)

    const deleted = await call("DELETE", `/api/v1/llm/conversations/${encodeURIComponent(id)}`, "key-tenant-a")
    expect(deleted.status).toBe(200)
    expect(deleted.json).toEqual({ conversation_id: id, deleted: true })
    expect((await call("GET", `/api/v1/llm/conversations/${encodeURIComponent(id)}`, "key-tenant-a")).status).toBe(404)

    // the id starts afresh: the next turn is sent without the deleted history
    await call("POST", "/api/v1/llm/chat", "key-tenant-a", { conversation_id: id, provider: "ollama", message: "Again?" })
    expect(fakes.ollama.chatRequests().at(-1)!.messages.map((m) => m.content)).toEqual(["Again?"])
  })

  it("answers 404 for an id that never existed", async () => {
    const r = await call("GET", "/api/v1/llm/conversations/never-was", "key-tenant-a")
    expect(r.status).toBe(404)
    expect((r.json as { error: Record<string, unknown> }).error).toMatchObject({ type: "InvalidRequest", code: "conversation_not_found" })
    expect((await call("DELETE", "/api/v1/llm/conversations/never-was", "key-tenant-a")).status).toBe(404)
  })
})
