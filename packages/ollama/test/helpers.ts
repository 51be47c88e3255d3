import type { OllamaConfig } from "../src/OllamaProvider.ts"
import type { ProviderRequest } from "@llm-gateway/core/domain/Domain"
import { fakeOllama, type FakeOllamaOptions } from "@llm-gateway/testing/FakeOllama"
import { Effect } from "effect"
import * as Net from "node:net"
import { makeOllamaClient, type OllamaClientOptions } from "../src/OllamaClient.ts"

export const MODEL = "llama3.2:latest"

export const providerConfig = (baseUrl: string, extra: Partial<OllamaConfig> = {}): OllamaConfig => ({
  name: "local",
  type: "ollama",
  baseUrl,
  models: [{ id: MODEL }],
  ...extra
})

export const request = (extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: MODEL,
  messages: [{ role: "user", content: "say hello to the world" }],
  ...extra
})

/** A fake Ollama and a client on it, both closed with the test's scope. */
export const setup = (fake: FakeOllamaOptions = {}, options?: OllamaClientOptions, extra?: Partial<OllamaConfig>) =>
  Effect.gen(function*() {
    const server = yield* fakeOllama(fake)
    const client = yield* makeOllamaClient(providerConfig(server.url, extra), options)
    return { fake: server, client }
  })

/** Waits (in real time) until a condition holds: the upstream side of a test is real I/O. */
export const waitUntil = (cond: () => boolean, timeoutMs = 2_000) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now()
        const tick = () => {
          if (cond()) return resolve()
          if (Date.now() - started > timeoutMs) return reject(new Error("condition not met in time"))
          setTimeout(tick, 5)
        }
        tick()
      })
  )

/** A loopback port with nothing listening on it (connection refused). */
export const closedPort = () =>
  Effect.promise(
    () =>
      new Promise<number>((resolve) => {
        const srv = Net.createServer()
        srv.listen(0, "127.0.0.1", () => {
          const port = (srv.address() as Net.AddressInfo).port
          srv.close(() => resolve(port))
        })
      })
  )
