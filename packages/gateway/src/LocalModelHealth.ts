/**
 * `checkLocalModelHealth(endpoint)` (exported by `llm-gateway`): is a local model server (LM Studio, Ollama,
 * vLLM, llama.cpp's server…) answering, and which models does it offer?
 *
 * The URL says which API to ask:
 * - an OpenAI-compatible base (`http://localhost:1234/v1`, or a full `…/chat/completions` URL)
 *   → `GET {base}/models`;
 * - an Ollama API base (`http://localhost:11434/api`) → `GET {base}/tags`;
 * - a bare server root tries both, Ollama's first on its port 11434, else OpenAI's first; the
 *   next form is tried only when the first route does not exist (404/405);
 * - a URL that already names `…/models` or `…/api/tags` is asked as is.
 * The whole check is bounded by one short timeout (2 s by default, on the Effect clock) and
 * never fails: an unreachable server is `healthy: false` with the reason.
 */
import { Clock, Duration, Effect, Option, Schema } from "effect"

export interface LocalModelHealth {
  readonly healthy: boolean
  /** The endpoint as given. */
  readonly endpoint: string
  readonly models: Array<string>
  readonly latencyMs: number
  /** Why it is unhealthy; never contains credentials of the URL. */
  readonly error?: string
}

export interface LocalModelHealthOptions {
  /** Limit of the whole check (default 2000 ms). */
  readonly timeoutMs?: number
  readonly fetch?: typeof globalThis.fetch
}

export type ProbeKind = "openai" | "ollama"

export interface Probe {
  readonly kind: ProbeKind
  /** Without credentials: those travel as a Basic `authorization` header. */
  readonly url: string
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 2_000
const OLLAMA_PORT = "11434"

const OpenAIModels = Schema.Struct({ data: Schema.Array(Schema.Struct({ id: Schema.String })) })
const OllamaTags = Schema.Struct({ models: Schema.Array(Schema.Struct({ name: Schema.String })) })

class ProbeFailed extends Schema.TaggedError<ProbeFailed>()("ProbeFailed", { message: Schema.String }) {}

/** The requests to try, in order, for an endpoint; undefined when it is not an http(s) URL. */
export const healthProbes = (endpoint: string): Array<Probe> | undefined => {
  let url: URL
  try {
    url = new URL(endpoint.trim())
  } catch {
    return undefined
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  url.username = ""
  url.password = ""
  url.hash = ""
  const path = url.pathname.replace(/\/+$/, "")
  const at = (p: string, kind: ProbeKind): Probe => {
    const u = new URL(url)
    u.pathname = p
    return { kind, url: u.toString() }
  }
  if (/\/api\/tags$/.test(path)) return [at(path, "ollama")]
  if (/\/models$/.test(path)) return [at(path, "openai")]
  if (/\/api$/.test(path)) return [at(`${path}/tags`, "ollama")]
  if (/\/v\d+$/.test(path)) return [at(`${path}/models`, "openai")]
  const completions = /\/(chat\/)?completions$/.exec(path)
  if (completions) return [at(`${path.slice(0, completions.index)}/models`, "openai")]
  const ollama = at(`${path}/api/tags`, "ollama")
  const openai = at(`${path}/v1/models`, "openai")
  return url.port === OLLAMA_PORT ? [ollama, openai] : [openai, ollama]
}

const basicAuth = (endpoint: string): Record<string, string> => {
  try {
    const url = new URL(endpoint.trim())
    if (url.username === "") return {}
    const user = decodeURIComponent(url.username)
    const pass = decodeURIComponent(url.password)
    return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` }
  } catch {
    return {}
  }
}

const fetchFailure = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause
  const code = typeof cause?.code === "string" ? cause.code : undefined
  if (code === "ECONNREFUSED") return "connection refused (ECONNREFUSED)"
  return code ? `${error.message} (${code})` : error.message
}

/** One probe: the model names, `none` when the route does not exist here, or a failure. */
const runProbe = (probe: Probe, headers: Record<string, string>, fetchFn: typeof globalThis.fetch) =>
  Effect.gen(function*() {
    const path = new URL(probe.url).pathname
    const response = yield* Effect.tryPromise({
      try: (signal) => fetchFn(probe.url, { signal, headers: { accept: "application/json", ...headers } }),
      catch: (error) => new ProbeFailed({ message: fetchFailure(error) })
    })
    if (response.status === 404 || response.status === 405) {
      yield* Effect.promise(() => response.body?.cancel() ?? Promise.resolve())
      return Option.none<Array<string>>()
    }
    const body = yield* Effect.tryPromise({
      try: () => response.text(),
      catch: (error) => new ProbeFailed({ message: `reading ${path}: ${fetchFailure(error)}` })
    })
    if (!response.ok) {
      return yield* new ProbeFailed({ message: `HTTP ${response.status} from ${path}${body ? `: ${body.slice(0, 200)}` : ""}` })
    }
    const json = yield* Effect.try({
      try: () => JSON.parse(body) as unknown,
      catch: () => new ProbeFailed({ message: `${path} did not answer JSON` })
    })
    const names = probe.kind === "openai"
      ? Schema.decodeUnknownOption(OpenAIModels)(json).pipe(Option.map((r) => r.data.map((m) => m.id)))
      : Schema.decodeUnknownOption(OllamaTags)(json).pipe(Option.map((r) => r.models.map((m) => m.name)))
    if (Option.isNone(names)) {
      return yield* new ProbeFailed({ message: `${path} did not answer a model list` })
    }
    return Option.some([...names.value])
  })

/** Checks a local model server; never fails (see the module comment). */
export const checkLocalModelHealth = Effect.fn("checkLocalModelHealth")(function*(
  endpoint: string,
  options: LocalModelHealthOptions = {}
): Effect.fn.Return<LocalModelHealth> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS
  const fetchFn = options.fetch ?? globalThis.fetch
  const start = yield* Clock.currentTimeMillis
  const probes = healthProbes(endpoint)
  const check = Effect.gen(function*() {
    if (probes === undefined) return yield* new ProbeFailed({ message: "endpoint is not an http(s) URL" })
    const headers = basicAuth(endpoint)
    for (const probe of probes) {
      const models = yield* runProbe(probe, headers, fetchFn)
      if (Option.isSome(models)) return models.value
    }
    return yield* new ProbeFailed({
      message: `no model list at ${probes.map((p) => new URL(p.url).pathname).join(" or ")} (HTTP 404)`
    })
  })
  const outcome = yield* check.pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail(new ProbeFailed({ message: `timed out after ${timeoutMs} ms` }))
    }),
    Effect.result
  )
  const latencyMs = (yield* Clock.currentTimeMillis) - start
  return outcome._tag === "Success"
    ? { healthy: true, endpoint, models: outcome.success, latencyMs }
    : { healthy: false, endpoint, models: [], latencyMs, error: outcome.failure.message }
})
