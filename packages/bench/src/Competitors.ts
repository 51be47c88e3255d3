/**
 * The competitors: how each is started (pinned to the system-under-test core), where it listens,
 * what headers it needs, and a functional check before any measurement. A competitor that cannot
 * start or fails the check is reported "not available" with the reason, never measured.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type Child, freePort, pin, spawnNode, waitHttp, waitReady } from "./procs/Processes.ts"
import { REPLY } from "./upstream/Upstream.ts"

export type CompetitorId =
  | "direct"
  | "raw"
  | "json"
  | "sdk-default"
  | "sdk-undici"
  | "gateway"
  | "gateway-cache"
  | "gateway-baseline"
  | "gateway-workers"
  | "portkey"

type GatewayId = "gateway" | "gateway-cache" | "gateway-baseline" | "gateway-workers"

export interface Layout {
  /** Core of the system under test (competitors). */
  readonly sut: number
  /** Core of the load generator, the upstream and the bench itself. */
  readonly driver: number
}

export interface Context {
  readonly repoRoot: string
  readonly benchDir: string
  readonly logDir: string
  readonly upstream: Child
  readonly layout: Layout
  /** Run the llm-gateway servers under `node --cpu-prof` (profiles in logDir/prof-<id>). */
  readonly profile: boolean
  /** The checkout whose gateway (what its `pnpm start` runs: `gatewayScript`) is under test (`--repo`; default: this one). */
  readonly gatewayRepo: string
  /** `--baseline DIR`: another checkout's gateway, measured beside it as `gateway-baseline` (cache off). */
  readonly baselineRepo?: string | undefined
}

export interface Running {
  readonly id: CompetitorId
  readonly label: string
  readonly origin: string
  readonly headers: Record<string, string>
  /** The `model` field this competitor expects for a bench model id (`bench-fast`, …). */
  readonly model: (id: string) => string
  /** The process whose memory is the competitor's (undefined for direct). */
  readonly child: Child | undefined
  /** Runs around each measurement (direct moves the upstream onto the SUT core). */
  readonly enter: () => void
  readonly leave: () => void
  /** What the functional check saw (gateway headers and the like). */
  readonly notes: Array<string>
}

export interface Unavailable {
  readonly id: CompetitorId
  readonly label: string
  readonly reason: string
}

export const LABELS: Record<CompetitorId, string> = {
  direct: "direct (no proxy)",
  raw: "raw proxy (node:http)",
  json: "JSON proxy (parse + re-serialize)",
  "sdk-default": "SDK proxy (default fetch)",
  "sdk-undici": "SDK proxy (undici Pool)",
  gateway: "llm-gateway (cache off)",
  "gateway-cache": "llm-gateway (cache hit)",
  "gateway-baseline": "llm-gateway baseline (cache off)",
  "gateway-workers": "llm-gateway --workers auto (cache off, unpinned)",
  portkey: "Portkey gateway 1.15.2"
}

const JSON_HEADERS = { "content-type": "application/json", authorization: "Bearer sk-bench" }
const noop = () => undefined

export const chatBody = (model: string, stream: boolean, content = "Say hello to the benchmark, please."): string =>
  JSON.stringify({
    model,
    messages: [{ role: "user", content }],
    max_tokens: 64,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
  })

export type Shape = "text" | "tools" | "parts"

/**
 * Requests of one size in three shapes: plain text, a tool-call round trip (tools, an assistant
 * turn with tool_calls, the tool's result) and a multi-part user message; the text is padded so
 * each body has the same number of bytes as the tool-call one.
 */
export const shapedBodies = (model: string, extra = 0): Record<Shape, string> => {
  const tools = (pad: string) =>
    JSON.stringify({
      model,
      messages: [
        { role: "user", content: `What is the weather in Lisbon today?${pad}` },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Lisbon\"}" } }]
        },
        { role: "tool", tool_call_id: "call_1", content: "{\"temperature_c\":21,\"sky\":\"clear\"}" }
      ],
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
        }
      }],
      max_tokens: 64
    })
  const toolBody = tools(" ".repeat(extra))
  const size = Buffer.byteLength(toolBody)
  const fill = (make: (pad: string) => string) => make(" ".repeat(Math.max(0, size - Buffer.byteLength(make("")))))
  return {
    tools: toolBody,
    text: fill((pad) => JSON.stringify({ model, messages: [{ role: "user", content: `What is the weather in Lisbon today?${pad}` }], max_tokens: 64 })),
    parts: fill((pad) =>
      JSON.stringify({
        model,
        messages: [{ role: "user", content: [{ type: "text", text: "What is the weather" }, { type: "text", text: ` in Lisbon today?${pad}` }] }],
        max_tokens: 64
      })
    )
  }
}

/** One request of each kind must come back whole before a competitor is measured. */
const check = async (r: Running): Promise<void> => {
  const post = (body: string) =>
    fetch(`${r.origin}/v1/chat/completions`, { method: "POST", headers: r.headers, body, signal: AbortSignal.timeout(10_000) })
  const res = await post(chatBody(r.model("bench-fast"), false))
  const text = await res.text()
  if (res.status !== 200 || !text.includes(REPLY.slice(0, 20))) {
    throw new Error(`chat completion: HTTP ${res.status} ${text.slice(0, 300)}`)
  }
  const interesting = ["x-llm-provider", "x-llm-model", "x-llm-cache", "x-llm-overhead-ms"]
  const seen = interesting.filter((h) => res.headers.get(h) !== null).map((h) => `${h}: ${res.headers.get(h)}`)
  if (seen.length > 0) r.notes.push(seen.join(", "))
  const s = await post(chatBody(r.model("bench-stream"), true))
  const st = await s.text()
  if (s.status !== 200 || !st.includes("[DONE]") || !/"content":"[^"]/.test(st)) {
    throw new Error(`streamed chat completion: HTTP ${s.status} ${st.slice(0, 300)}`)
  }
}

const own = async (ctx: Context, id: CompetitorId, script: string, settings: object): Promise<Child> =>
  waitReady(spawnNode({
    name: id,
    cpu: ctx.layout.sut,
    script: Path.join(ctx.benchDir, "src", script),
    args: [JSON.stringify(settings)],
    logDir: ctx.logDir
  }))

/** Environment for third-party servers: no provider keys or endpoints from the caller's shell. */
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  const drop = /^(LLM_|OPENAI_|ANTHROPIC_|CLAUDE_|OLLAMA_|VLLM_|LM_STUDIO_|AZURE_|GATEWAY_|REDIS_URL|DATABASE_URL)/
  for (const [k, v] of Object.entries(process.env)) if (!drop.test(k)) env[k] = v
  return env
}

/**
 * The bench's gateway config. `database`: the SQLite file of its ledger, fresh per run (in the
 * run's log folder): left at its default (`.data/gateway.db` in the checkout) it grew by every
 * run, ~200 MB in an afternoon, and each INSERT into a larger index costs more, so a figure
 * depended on the runs before it.
 */
export const gatewayYaml = (port: number, upstream: string, cache: boolean, database: string) =>
  `# written by packages/bench: one openai-compatible provider pointed at the bench upstream
server:
  host: 127.0.0.1
  port: ${port}
providers:
  - name: bench
    type: openai-compatible
    baseUrl: ${upstream}/v1
    apiKey: sk-bench
    models:
      - { id: bench-fast, contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }
      - { id: bench-stream, contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }
      - { id: bench-hold, contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }
routing:
  fallbackOrder: [bench/bench-fast]
cache: { enabled: ${cache}, ttlSeconds: 3600, maxSize: 1000 }
conversations: { store: memory }
database: { path: ${JSON.stringify(database)} }
`

/** The words of `pnpm start` in the checkout's root package.json, and where its last `node` command is. */
const startWords = (repo: string): { readonly words: ReadonlyArray<string>; readonly at: number } => {
  try {
    const pkg = JSON.parse(Fs.readFileSync(Path.join(repo, "package.json"), "utf8")) as { scripts?: Record<string, string> }
    const words = (pkg.scripts?.start ?? "").split(/\s+/)
    return { words, at: words.findLastIndex((w) => w.endsWith("/node")) }
  } catch {
    return { words: [], at: -1 }
  }
}

/**
 * The Node flags `pnpm start` runs the gateway with (heap sizing, notes/operations.md), read from
 * the checkout's root package.json so the bench measures the process users run: the flags of the
 * script's last `node` command (the one it `exec`s; an earlier one builds the bundle).
 */
export const startFlags = (repo: string): Array<string> => {
  const { at, words } = startWords(repo)
  const flags: Array<string> = []
  if (at < 0) return flags
  for (const w of words.slice(at + 1)) {
    if (!w.startsWith("--")) break
    flags.push(w)
  }
  return flags
}

/**
 * The environment `pnpm start` sets for that command (`exec env NAME=value … node`: glibc's
 * `MALLOC_ARENA_MAX`, notes/operations.md "Heap sizing"), for the same reason.
 */
export const startEnv = (repo: string): Record<string, string> => {
  const { at, words } = startWords(repo)
  const env: Record<string, string> = {}
  for (let i = at - 1; i >= 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[i]); i--) {
    const eq = words[i].indexOf("=")
    env[words[i].slice(0, eq)] = words[i].slice(eq + 1)
  }
  return env
}

export const gatewayScript = (repo: string): string => {
  const bundler = Path.join(repo, "packages/server/scripts/bundle.ts")
  if (!Fs.existsSync(bundler)) return Path.join(repo, "packages/server/src/cli.ts")
  execFileSync(process.execPath, [bundler], { cwd: repo, stdio: ["ignore", "ignore", "inherit"] })
  return Path.join(repo, "packages/server/dist-bundle/cli.js")
}

const startGateway = async (ctx: Context, id: GatewayId): Promise<Running> => {
  const repo = id === "gateway-baseline" ? ctx.baselineRepo : ctx.gatewayRepo
  if (repo === undefined) throw new Error("no --baseline checkout given")
  if (!Fs.existsSync(Path.join(repo, "packages/server/src/cli.ts"))) throw new Error(`${repo} has no packages/server/src/cli.ts`)
  const cli = gatewayScript(repo)
  const port = await freePort()
  const config = Path.join(ctx.logDir, `${id}.yaml`)
  Fs.writeFileSync(config, gatewayYaml(port, `http://127.0.0.1:${ctx.upstream.port}`, id === "gateway-cache", Path.join(ctx.logDir, `${id}.db`)))
  const workers = id === "gateway-workers"
  const child = spawnNode({
    name: id,
    // workers = cores: not pinned (the interleaved scenarios pin one core; this one is measured apart)
    cpu: workers ? "all" : ctx.layout.sut,
    script: cli,
    args: ["serve", "--config", config, "--port", String(port), "--host", "127.0.0.1", ...(workers ? ["--workers", "auto"] : [])],
    nodeFlags: [
      ...startFlags(repo),
      "--import",
      Path.join(ctx.benchDir, "src/procs/guard.js"),
      ...(ctx.profile ? ["--cpu-prof", "--cpu-prof-dir", Path.join(ctx.logDir, `prof-${id}`)] : [])
    ],
    cwd: repo,
    env: { ...cleanEnv(), ...startEnv(repo) },
    logDir: ctx.logDir
  })
  child.port = port
  try {
    return await gatewayReady(ctx, id, child, port)
  } catch (error) {
    child.kill()
    throw error
  }
}

const gatewayReady = async (_ctx: Context, id: GatewayId, child: Child, port: number): Promise<Running> => {
  await waitHttp(child, `http://127.0.0.1:${port}/health`)
  const base: Omit<Running, "model"> = {
    id,
    label: LABELS[id],
    origin: `http://127.0.0.1:${port}`,
    headers: { ...JSON_HEADERS },
    child,
    enter: noop,
    leave: noop,
    notes: []
  }
  // A bare model id is the OpenAI-compatible way; fall back to `provider/model` if the gateway wants it.
  let firstError: unknown
  for (const model of [(m: string) => m, (m: string) => `bench/${m}`]) {
    const r: Running = { ...base, model }
    try {
      await check(r)
      return r
    } catch (error) {
      firstError ??= error
    }
  }
  throw firstError
}

const startPortkey = async (ctx: Context): Promise<Running> => {
  const entry = Path.join(ctx.benchDir, "node_modules/@portkey-ai/gateway/build/start-server.js")
  if (!Fs.existsSync(entry)) throw new Error("@portkey-ai/gateway is not installed (pnpm install)")
  const port = await freePort()
  const child = spawnNode({
    name: "portkey",
    cpu: ctx.layout.sut,
    script: entry,
    args: [`--port=${port}`, "--headless"],
    nodeFlags: ["--import", Path.join(ctx.benchDir, "src/procs/guard.js")],
    cwd: ctx.benchDir,
    env: cleanEnv(),
    logDir: ctx.logDir
  })
  child.port = port
  try {
    await waitHttp(child, `http://127.0.0.1:${port}/`)
  } catch (error) {
    child.kill()
    throw error
  }
  const r: Running = {
    id: "portkey",
    label: LABELS.portkey,
    origin: `http://127.0.0.1:${port}`,
    headers: {
      ...JSON_HEADERS,
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `http://127.0.0.1:${ctx.upstream.port}/v1`
    },
    model: (m) => m,
    child,
    enter: noop,
    leave: noop,
    notes: []
  }
  await check(r).catch((error) => {
    child.kill()
    throw error
  })
  return r
}

export const startCompetitor = async (ctx: Context, id: CompetitorId): Promise<Running | Unavailable> => {
  const upstream = `http://127.0.0.1:${ctx.upstream.port}`
  const simple = (child: Child): Running => ({
    id,
    label: LABELS[id],
    origin: `http://127.0.0.1:${child.port}`,
    headers: { ...JSON_HEADERS },
    model: (m) => m,
    child,
    enter: noop,
    leave: noop,
    notes: []
  })
  try {
    let r: Running
    switch (id) {
      case "direct":
        r = {
          id,
          label: LABELS[id],
          origin: upstream,
          headers: { ...JSON_HEADERS },
          model: (m) => m,
          child: undefined,
          // Direct has no proxy: the upstream itself takes the system-under-test core for the trial.
          enter: () => pin(ctx.upstream.pid, ctx.layout.sut),
          leave: () => pin(ctx.upstream.pid, ctx.layout.driver),
          notes: []
        }
        break
      case "raw":
        r = simple(await own(ctx, id, "competitors/rawProxy.ts", { upstream }))
        break
      case "json":
        r = simple(await own(ctx, id, "competitors/jsonProxy.ts", { upstream }))
        break
      case "sdk-default":
        r = simple(await own(ctx, id, "competitors/sdkProxy.ts", { upstream, fetch: "default" }))
        break
      case "sdk-undici":
        r = simple(await own(ctx, id, "competitors/sdkProxy.ts", { upstream, fetch: "undici-pool" }))
        break
      case "gateway":
      case "gateway-cache":
      case "gateway-baseline":
      case "gateway-workers":
        return await startGateway(ctx, id)
      case "portkey":
        return await startPortkey(ctx)
    }
    await check(r).catch((error) => {
      r.child?.kill()
      throw error
    })
    return r
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split("\n").filter((l) => l.trim() !== "").slice(0, 6).join(" | ")
    return { id, label: LABELS[id], reason }
  }
}

export const isRunning = (c: Running | Unavailable): c is Running => "origin" in c
