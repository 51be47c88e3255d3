/**
 * `gateway keys create|list|revoke|usage`: virtual keys through the admin API of a running
 * gateway, as LiteLLM's and Portkey's users manage theirs — the gateway owns the store (SQLite
 * or Postgres), so the CLI never opens it and works against any instance, local or remote.
 *
 * `--url` (else `LLM_GATEWAY_URL`, else http://127.0.0.1:8080) and `--admin-key` (else
 * `LLM_GATEWAY_ADMIN_KEY`; one of `server.adminKeys`). Results go to stdout (`--json` prints the
 * API's body as is); a refusal prints the API's message on stderr and exits 1.
 */
import { Config, Effect, Option, Redacted } from "effect"
import { Argument, Command, Flag } from "effect/cli"

const out = (text: string) => Effect.sync(() => void process.stdout.write(text))

const url = Flag.String("url").pipe(
  Flag.withDescription("The gateway (default: LLM_GATEWAY_URL, else http://127.0.0.1:8080)"),
  Flag.withFallbackConfig(Config.String("LLM_GATEWAY_URL")),
  Flag.withDefault("http://127.0.0.1:8080")
)
const adminKey = Flag.Redacted("admin-key").pipe(
  Flag.withDescription("An admin key, one of server.adminKeys (default: LLM_GATEWAY_ADMIN_KEY)"),
  Flag.withFallbackConfig(Config.Redacted("LLM_GATEWAY_ADMIN_KEY")),
  Flag.optional
)
const json = Flag.Boolean("json").pipe(Flag.withDescription("Print the admin API's JSON body"), Flag.withDefault(false))

interface Conn {
  readonly url: string
  readonly adminKey: Option.Option<Redacted.Redacted<string>>
}

/** One admin API call; a non-2xx answer fails with the envelope's message. */
const call = (conn: Conn, method: string, path: string, body?: unknown) =>
  Effect.gen(function*() {
    const key = Option.getOrUndefined(conn.adminKey)
    if (key === undefined) {
      return yield* Effect.fail(new Error("no admin key: pass --admin-key or set LLM_GATEWAY_ADMIN_KEY (one of the gateway's server.adminKeys)"))
    }
    const target = `${conn.url.replace(/\/+$/, "")}${path}`
    const res = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(target, {
          method,
          signal,
          headers: {
            authorization: `Bearer ${Redacted.value(key)}`,
            ...(body === undefined ? {} : { "content-type": "application/json" })
          },
          body: body === undefined ? undefined : JSON.stringify(body)
        }),
      catch: (e) => new Error(`cannot reach the gateway at ${conn.url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : String(e)}`)
    })
    const text = yield* Effect.promise(() => res.text())
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? text.slice(0, 200)
      const hint = res.status === 404 && path.startsWith("/admin/") ? " (is server.adminKeys set on the gateway?)" : ""
      return yield* Effect.fail(new Error(`${res.status} ${message}${hint}`))
    }
    return parsed as Record<string, unknown>
  })

interface KeyJson {
  readonly id: string
  readonly name: string
  readonly team: string | null
  readonly prefix: string
  readonly status: string
  readonly budgetUsd: number | null
  readonly budgetPeriod: string
  readonly rpm: number | null
  readonly tpm: number | null
  readonly models: ReadonlyArray<string> | null
  readonly expiresAt: string | null
}

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n") + "\n"
}

const keyRows = (keys: ReadonlyArray<KeyJson>) =>
  table([
    ["ID", "NAME", "TEAM", "STATUS", "BUDGET", "RPM", "TPM", "MODELS"],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.team ?? "-",
      k.status,
      k.budgetUsd === null ? "-" : `${k.budgetUsd} USD/${k.budgetPeriod}`,
      k.rpm === null ? "-" : String(k.rpm),
      k.tpm === null ? "-" : String(k.tpm),
      k.models === null || k.models.length === 0 ? "*" : k.models.join(",")
    ])
  ])

/** A failed command prints one line on stderr and exits 1. */
const reported = <A, R>(effect: Effect.Effect<A, Error, R>) =>
  Effect.catch(effect, (e) =>
    Effect.sync(() => {
      process.stderr.write(`error: ${e.message}\n`)
      process.exitCode = 1
    }))

const create = Command.make("create", {
  url,
  adminKey,
  json,
  name: Argument.String("name").pipe(Argument.withDescription("What the key is for")),
  team: Flag.String("team").pipe(Flag.withDescription("Its team (the team's budget covers it too)"), Flag.optional),
  models: Flag.String("models").pipe(Flag.withDescription("Allowed models, comma-separated patterns (openai/*); default every model"), Flag.optional),
  tasks: Flag.String("tasks").pipe(Flag.withDescription("Allowed task types, comma-separated"), Flag.optional),
  rpm: Flag.Int("rpm").pipe(Flag.withDescription("Requests per minute"), Flag.optional),
  tpm: Flag.Int("tpm").pipe(Flag.withDescription("Tokens per minute"), Flag.optional),
  budgetUsd: Flag.Finite("budget-usd").pipe(Flag.withDescription("Budget in USD per period"), Flag.optional),
  budgetPeriod: Flag.Literals("budget-period", ["day", "month", "total"]).pipe(Flag.withDescription("day | month | total (default month)"), Flag.optional),
  expiresAt: Flag.String("expires-at").pipe(Flag.withDescription("ISO-8601 time the key stops working"), Flag.optional)
}, (f) =>
  reported(Effect.gen(function*() {
    const list = (s: Option.Option<string>) => Option.map(s, (v) => v.split(",").map((x) => x.trim()).filter((x) => x !== ""))
    const body = Object.fromEntries(Object.entries({
      name: f.name,
      team: Option.getOrUndefined(f.team),
      models: Option.getOrUndefined(list(f.models)),
      tasks: Option.getOrUndefined(list(f.tasks)),
      rpm: Option.getOrUndefined(f.rpm),
      tpm: Option.getOrUndefined(f.tpm),
      budgetUsd: Option.getOrUndefined(f.budgetUsd),
      budgetPeriod: Option.getOrUndefined(f.budgetPeriod),
      expiresAt: Option.getOrUndefined(f.expiresAt)
    }).filter(([, v]) => v !== undefined))
    const created = yield* call(f, "POST", "/admin/v1/keys", body)
    if (f.json) return yield* out(`${JSON.stringify(created, null, 2)}\n`)
    // the key alone on stdout (`KEY=$(gateway keys create ci)`); the rest on stderr
    yield* out(`${created.key}\n`)
    process.stderr.write(`created key ${created.id} (${f.name}): shown only now, store it\n`)
  }))).pipe(Command.withDescription("Create a virtual key; prints the key (shown only once)"))

const listKeys = Command.make("list", { url, adminKey, json }, (f) =>
  reported(Effect.gen(function*() {
    const body = yield* call(f, "GET", "/admin/v1/keys")
    yield* out(f.json ? `${JSON.stringify(body, null, 2)}\n` : keyRows(body.data as ReadonlyArray<KeyJson>))
  }))).pipe(Command.withDescription("List the virtual keys (never their secrets)"))

const revoke = Command.make("revoke", {
  url,
  adminKey,
  json,
  id: Argument.String("id").pipe(Argument.withDescription("The key's id (from keys list)"))
}, (f) =>
  reported(Effect.gen(function*() {
    const body = yield* call(f, "DELETE", `/admin/v1/keys/${encodeURIComponent(f.id)}`)
    yield* out(f.json ? `${JSON.stringify(body, null, 2)}\n` : `revoked ${body.id} (${body.name})\n`)
  }))).pipe(Command.withDescription("Revoke a key: 401 at once on that gateway, within 1 s on the others"))

const usage = Command.make("usage", {
  url,
  adminKey,
  json,
  key: Flag.String("key").pipe(Flag.withDescription("A key's id"), Flag.optional),
  team: Flag.String("team").pipe(Flag.withDescription("A team"), Flag.optional),
  from: Flag.String("from").pipe(Flag.withDescription("ISO-8601 start (default: 30 days ago)"), Flag.optional),
  to: Flag.String("to").pipe(Flag.withDescription("ISO-8601 end (default: now)"), Flag.optional)
}, (f) =>
  reported(Effect.gen(function*() {
    const q = new URLSearchParams()
    for (const [k, v] of [["key", f.key], ["team", f.team], ["from", f.from], ["to", f.to]] as const) if (Option.isSome(v)) q.set(k, v.value)
    const body = yield* call(f, "GET", `/admin/v1/usage${q.size > 0 ? `?${q}` : ""}`)
    if (f.json) return yield* out(`${JSON.stringify(body, null, 2)}\n`)
    type Row = { model?: string; provider?: string; requests: number; promptTokens: number; completionTokens: number; costUsd: number }
    const t = body.totals as Row
    const line = (label: string, r: Row) => [label, String(r.requests), String(r.promptTokens), String(r.completionTokens), r.costUsd.toFixed(6)]
    yield* out(`${body.from} .. ${body.to}\n`)
    yield* out(table([
      ["MODEL", "REQUESTS", "PROMPT", "COMPLETION", "COST_USD"],
      ...(body.rows as ReadonlyArray<Row>).map((r) => line(`${r.provider}/${r.model}`, r)),
      line("total", t)
    ]))
  }))).pipe(Command.withDescription("Requests, tokens and cost per model of a key or team over a time range"))

export const keysCommand = Command.make("keys").pipe(
  Command.withDescription("Virtual keys through a running gateway's admin API (--url, --admin-key / LLM_GATEWAY_ADMIN_KEY)"),
  Command.withSubcommands([create, listKeys, revoke, usage])
)
