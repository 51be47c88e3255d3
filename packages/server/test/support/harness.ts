/**
 * Runs the real gateway server on 127.0.0.1:0 over the real gateway Layer (real provider SDKs)
 * against the loopback fakes of each provider, and captures every log line it writes.
 */
import { type FakeAnthropic, startFakeAnthropic } from "@llm-gateway/testing/FakeAnthropic"
import { type FakeOllama, startFakeOllama } from "@llm-gateway/testing/FakeOllama"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import type { GatewayConfigInput } from "@llm-gateway/core/config/LLMConfig"
import { layerFromConfig, loadGatewayConfig } from "llm-gateway/GatewayLayer"
import { Cause, ConfigProvider, Context, Effect, Exit, Layer, Logger, Scope } from "effect"
import { HttpServer } from "effect/http"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import OpenAI from "openai"
import * as GatewayServer from "../../src/GatewayServer.ts"

export const CANARY_KEY = "sk-canary-0123SECRET"

export interface Gateway {
  readonly url: string
  /** The OpenAI-style base: `<url>/v1`. */
  readonly baseURL: string
  /** Every line the server logged. */
  readonly logs: Array<string>
  readonly client: (apiKey?: string) => OpenAI
  readonly close: () => Promise<void>
}

export const startGateway = async (
  config: GatewayConfigInput,
  options: {
    readonly shutdownTimeoutMs?: number
    /** Env the server itself reads (the OTel variables of Tracing.ts); the process env when absent. */
    readonly env?: Record<string, string>
  } = {}
): Promise<Gateway> => {
  const logs: Array<string> = []
  const capture = Logger.make((o) => {
    const message = Array.isArray(o.message) ? o.message.map(String).join(" ") : String(o.message)
    logs.push(`${o.logLevel} ${message}${Cause.isCause(o.cause) && o.cause.reasons.length > 0 ? ` ${Cause.pretty(o.cause)}` : ""}`)
  })
  // The ledger records every request, and its store defaults to .data/gateway.db in the working
  // directory (the repo, under vitest): a config without `database` gets a file of its own here.
  const dbDir = (config as { database?: unknown }).database === undefined ? mkdtempSync(join(tmpdir(), "gateway-db-")) : undefined
  const withDb = dbDir === undefined ? config : { ...config, database: { path: join(dbDir, "gateway.db") } } as GatewayConfigInput
  const resolved = await Effect.runPromise(loadGatewayConfig({ config: withDb, env: {} }))
  const layer = GatewayServer.layer({ host: "127.0.0.1", port: 0, shutdownTimeoutMs: options.shutdownTimeoutMs }).pipe(
    Layer.provide(layerFromConfig(resolved)),
    Layer.provide(Logger.layer([capture])),
    Layer.provide(options.env === undefined ? Layer.empty : ConfigProvider.layer(ConfigProvider.fromEnv({ env: options.env })))
  )
  const scope = Scope.makeUnsafe()
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("expected a TCP address")
  const url = `http://127.0.0.1:${address.port}`
  return {
    url,
    baseURL: `${url}/v1`,
    logs,
    client: (apiKey = "unused") => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 }),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      if (dbDir !== undefined) rmSync(dbDir, { recursive: true, force: true })
    }
  }
}

export interface Fakes {
  readonly openai: FakeOpenAI
  readonly anthropic: FakeAnthropic
  readonly ollama: FakeOllama
  readonly close: () => Promise<void>
}

export const startFakes = async (): Promise<Fakes> => {
  const [openai, anthropic, ollama] = await Promise.all([
    startFakeOpenAI({ reply: "Hello from the fake upstream.", apiKey: CANARY_KEY }),
    startFakeAnthropic({ apiKey: "sk-ant-test-key-0000000000" }),
    startFakeOllama({ reply: "Hello from fake Ollama" })
  ])
  return {
    openai,
    anthropic,
    ollama,
    close: async () => {
      await Promise.all([openai.close(), anthropic.close(), ollama.close()])
    }
  }
}

/** Three providers, one of each wire format; the OpenAI one holds the canary key. */
export const configFor = (fakes: Fakes, extra: Record<string, unknown> = {}): GatewayConfigInput => ({
  providers: [
    {
      name: "openai",
      type: "openai",
      baseUrl: fakes.openai.baseUrl,
      apiKey: CANARY_KEY,
      models: [
        { id: "gpt-4o-mini", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 },
        { id: "text-embedding-3-small", embedding: true }
      ]
    },
    {
      name: "anthropic",
      type: "anthropic",
      baseUrl: fakes.anthropic.url,
      apiKey: "sk-ant-test-key-0000000000",
      models: [{ id: "claude-3-haiku-20240307", contextWindow: 200000, inputCostPer1M: 0.25, outputCostPer1M: 1.25 }]
    },
    {
      name: "ollama",
      type: "ollama",
      baseUrl: fakes.ollama.url,
      models: [{ id: "llama3.2:latest", contextWindow: 8192 }, { id: "nomic-embed-text:latest", embedding: true }]
    }
  ],
  routing: {
    strategy: "balanced",
    fallbackOrder: ["openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307"],
    maxRetries: 0,
    timeoutMs: 5000,
    attemptTimeoutMs: 3000
  },
  cache: { enabled: true, ttlSeconds: 60, maxSize: 100 },
  conversations: { store: "memory" },
  ...extra
})

/** The same providers as `configFor`, keeping only `names` (and routing among them only). */
export const onlyProviders = (fakes: Fakes, names: ReadonlyArray<string>, extra: Record<string, unknown> = {}): GatewayConfigInput => {
  const base = configFor(fakes) as { providers: ReadonlyArray<{ name: string; models: ReadonlyArray<{ id: string; embedding?: boolean }> }> }
  const providers = base.providers.filter((p) => names.includes(p.name))
  const chat = providers.flatMap((p) => p.models.filter((m) => m.embedding !== true).map((m) => `${p.name}/${m.id}`))
  return configFor(fakes, {
    providers,
    routing: { fallbackOrder: chat, maxRetries: 0, timeoutMs: 5000, attemptTimeoutMs: 3000 },
    ...extra
  })
}

/** A prompt no other test sends, so the response cache never answers it by accident. */
export const unique = (label: string) => `${label} ${Math.random().toString(36).slice(2)}`

/** A raw request, for what the SDK would refuse to send. */
export const raw = async (
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> }
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> => {
  const res = await fetch(url, {
    method: init.method ?? "POST",
    body: init.body as BodyInit | undefined,
    headers: { "content-type": "application/json", ...init.headers }
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}
