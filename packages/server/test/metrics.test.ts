/**
 * `GET /metrics` of the real server: every family carries HELP and TYPE and passes Prometheus's
 * own linter (`promtool check metrics`), every configured deployment's series are there from
 * start (before any request, transition or error), and the standard process metrics are served.
 */
import { spawnSync } from "node:child_process"
import { openAIErrorBody } from "@llm-gateway/testing/FakeOpenAI"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway, unique } from "./support/harness.ts"

/**
 * The one finding allowed: seed 004 names the latency histogram `llm_provider_latency_ms`, and
 * promtool's linter prefers base units in names. The seed's name is the contract; the same
 * latency in seconds is `llm_client_request_duration_seconds`.
 */
const SEED_NAME_FINDING = "llm_provider_latency_ms metric names should not contain abbreviated units"

/** promtool's findings on `body` (an empty list when it passes). */
const promtool = (body: string): { readonly status: number | null; readonly findings: Array<string> } => {
  const r = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" })
  if (r.error !== undefined) throw new Error(`promtool is needed (Debian: apt-get install prometheus): ${r.error.message}`)
  const findings = `${r.stdout}\n${r.stderr}`.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)
  return { status: r.status, findings }
}

const families = (body: string, kind: "HELP" | "TYPE") =>
  new Set(body.split("\n").filter((l) => l.startsWith(`# ${kind} `)).map((l) => l.split(" ")[2]))

const sampleNames = (body: string) =>
  new Set(body.split("\n").filter((l) => l.length > 0 && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, "")))

/** The value of the sample `name{labels}` (labels in the order the server writes them). */
const sample = (body: string, series: string): number | undefined => {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const DEPLOYMENTS = [
  ["openai", "gpt-4o-mini"],
  ["openai", "text-embedding-3-small"],
  ["anthropic", "claude-3-haiku-20240307"],
  ["ollama", "llama3.2:latest"],
  ["ollama", "nomic-embed-text:latest"]
] as const

let fakes: Fakes
let gw: Gateway
const scrape = async () => (await raw(`${gw.url}/metrics`, { method: "GET" })).text

beforeAll(async () => {
  fakes = await startFakes()
  gw = await startGateway(configFor(fakes))
})
afterAll(async () => {
  await gw?.close()
  await fakes?.close()
})

describe("GET /metrics", () => {
  it("before any request: every deployment's breaker state, active providers and the error series", async () => {
    const body = await scrape()
    for (const [provider, model] of DEPLOYMENTS) {
      const l = `provider="${provider}",model="${model}"`
      expect(sample(body, `llm_circuit_breaker_state{${l},state="closed"}`), `${provider}/${model}`).toBe(1)
      expect(sample(body, `llm_circuit_breaker_state{${l},state="open"}`)).toBe(0)
      expect(sample(body, `llm_circuit_breaker_state{${l},state="half_open"}`)).toBe(0)
      expect(sample(body, `llm_provider_requests_total{${l}}`)).toBe(0)
      expect(sample(body, `llm_provider_errors_total{${l},error_type="TimeoutError"}`)).toBe(0)
      expect(sample(body, `llm_provider_latency_ms_count{${l}}`)).toBe(0)
    }
    expect(sample(body, "llm_gateway_active_providers")).toBe(DEPLOYMENTS.length)
    expect(sample(body, `llm_client_errors_total{error_type="NetworkError"}`)).toBe(0)
    expect(sample(body, `llm_client_requests_total{status="success"}`)).toBe(0)
    expect(promtool(body).findings.filter((f) => f !== SEED_NAME_FINDING)).toEqual([])
  })

  it("after traffic (a miss, a hit, a stream, an error): promtool finds nothing but the seed's name", async () => {
    const client = gw.client()
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user" as const, content: unique("metrics") }] }
    await client.chat.completions.create(body)
    await client.chat.completions.create(body)
    for await (const _ of await client.chat.completions.create({ ...body, model: "anthropic/claude-3-haiku-20240307", stream: true })) { /* drain */ }
    await client.embeddings.create({ model: "openai/text-embedding-3-small", input: "x" })
    // an upstream 400 fails at once (no fallback): a client error
    fakes.openai.enqueueFault({ kind: "status", status: 400, body: openAIErrorBody(400, "bad request") })
    const failed = await client.chat.completions.create({ ...body, messages: [{ role: "user", content: unique("fails") }] }).then(() => undefined, (e: unknown) => e)
    expect(failed).toBeDefined()

    const text = await scrape()
    const { status, findings } = promtool(text)
    expect(findings.filter((f) => f !== SEED_NAME_FINDING)).toEqual([])
    // promtool exits non-zero on any finding: it did so for the allowed one only
    expect(status === 0 || findings.every((f) => f === SEED_NAME_FINDING)).toBe(true)

    // every family has HELP and TYPE, the cache ones included
    const help = families(text, "HELP")
    const type = families(text, "TYPE")
    for (const name of sampleNames(text)) {
      expect(help.has(name), `HELP ${name}`).toBe(true)
      expect(type.has(name), `TYPE ${name}`).toBe(true)
    }
    for (const seed of ["llm_cache_hits_total", "llm_cache_misses_total", "llm_cache_hit_rate", "llm_provider_latency_ms", "llm_provider_requests_total"]) {
      expect(help.has(seed), seed).toBe(true)
    }
    expect(sample(text, `llm_cache_hits_total{provider="openai"}`)).toBe(1)
    expect(sample(text, `llm_client_errors_total{error_type="InvalidRequest"}`)).toBe(1)
  })

  it("serves the standard process metrics", async () => {
    const text = await scrape()
    const startedAt = sample(text, "process_start_time_seconds")!
    expect(Math.abs(startedAt - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5)
    expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0)
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024)
    expect(sample(text, "process_open_fds")).toBeGreaterThan(2)
    expect(sample(text, "process_max_fds")).toBeGreaterThanOrEqual(sample(text, "process_open_fds")!)
    const lag = sample(text, "nodejs_eventloop_lag_seconds")!
    expect(lag).toBeGreaterThanOrEqual(0)
    expect(lag).toBeLessThan(1)
    expect(text).toContain("# TYPE process_cpu_seconds_total counter")
  })
})
