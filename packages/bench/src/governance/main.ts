/**
 * `npx -y pnpm@10 --filter @llm-gateway/bench governance [hotpath|usage|budget|outage ...]`
 *
 * Issue 17 at full size (the suite runs the budget and outage scenarios scaled down):
 * - hotpath: the cost of keys + budgets + ledger on the request path — one gateway (this
 *   process, real server and SDK, loopback fake upstream), autocannon rounds alternating a
 *   static key and a virtual key with a budget (every request reserves, settles and writes a
 *   ledger row); target: the virtual key within 5 % of the static key's throughput;
 * - usage: `GET /admin/v1/usage` for a month of one key at 10 M ledger rows on Postgres
 *   (rows made with psql and generate_series in a database of its own, dropped after; needs
 *   DATABASE_URL and psql); target ≤ 50 ms;
 * - budget: 500 concurrent requests over 3 `gateway serve` processes sharing Redis at a budget
 *   that fits 100 (scale.ts);
 * - outage: 30 s of Postgres outage at 200 req/s, 0 ledger rows dropped (scale.ts).
 * Options: --rows N (usage), --seconds N (hotpath round length). Prints one markdown line per
 * figure; notes/benchmarks.md keeps them with this command.
 */
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import autocannon from "autocannon"
import { psql, startInProcess, tempDir } from "./inprocess.ts"
import { budgetScenario, outageScenario } from "./scale.ts"

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const wanted = args.filter((a) => !a.startsWith("--") && !/^\d+$/.test(a))
const runs = (name: string) => wanted.length === 0 || wanted.includes(name)
export const report = (line: string) => process.stdout.write(`${line}\n`)
const log = (line: string) => process.stderr.write(`${line}\n`)

const ADMIN = "bench-admin-key-0123456789"
const STATIC = "bench-static-key-0123456789"

const hotpath = async () => {
  const seconds = option("seconds", 5)
  const upstream = await startFakeOpenAI({ reply: "ok" })
  const gw = await startInProcess({
    server: { apiKeys: [STATIC], adminKeys: [ADMIN] },
    providers: [{ name: "openai", type: "openai", baseUrl: upstream.baseUrl, apiKey: "sk-x", models: [{ id: "gpt-4o-mini", inputCostPer1M: 0.15, outputCostPer1M: 0.6 }] }],
    routing: { fallbackOrder: ["openai/gpt-4o-mini"], maxRetries: 0 },
    cache: { enabled: false },
    conversations: { store: "memory" },
    database: { path: `${tempDir()}/gateway.db` }
  })
  const created = await fetch(`${gw.url}/admin/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", budgetUsd: 1_000_000, budgetPeriod: "month", rpm: 10_000_000 })
  }).then((r) => r.json() as Promise<{ key: string }>)
  const round = (key: string) =>
    new Promise<number>((ok, fail) =>
      autocannon({
        url: `${gw.url}/v1/chat/completions`,
        method: "POST",
        connections: 16,
        duration: seconds,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
      }, (e, r) => {
        if (e !== null) return fail(e)
        const result = r as { requests: { average: number }; non2xx: number }
        if (result.non2xx > 0) return fail(new Error(`${result.non2xx} non-2xx answers`))
        ok(result.requests.average)
      }))
  await round(STATIC) // warm-up
  const s: Array<number> = []
  const v: Array<number> = []
  for (let i = 0; i < 3; i++) {
    s.push(await round(STATIC))
    v.push(await round(created.key))
    log(`round ${i + 1}: static ${s[i].toFixed(0)} req/s, virtual ${v[i].toFixed(0)} req/s`)
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[1]
  const cost = 1 - median(v) / median(s)
  report(`| hotpath | static key ${median(s).toFixed(0)} req/s · virtual key + budget + ledger ${median(v).toFixed(0)} req/s | cost ${(cost * 100).toFixed(1)} % (target ≤ 5 %) | 3 × ${seconds} s rounds each, c16, median |`)
  await gw.close()
  await upstream.close()
}


/**
 * 10 M rows over 60 days and 1000 keys, in a database of its own (psql, generate_series), read
 * through the admin API of a gateway on that database: what an operator's dashboard waits for.
 */
const usage = async () => {
  const rows = option("rows", 10_000_000)
  const base = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres")
  const dbName = `bench_usage_${process.pid}`
  const url = new URL(base)
  url.pathname = `/${dbName}`
  psql(base.toString(), `CREATE DATABASE ${dbName}`)
  const upstream = await startFakeOpenAI({ reply: "ok" })
  const gw = await startInProcess({
    server: { adminKeys: [ADMIN] },
    providers: [{ name: "openai", type: "openai", baseUrl: upstream.baseUrl, apiKey: "sk-x", models: [{ id: "gpt-4o-mini" }] }],
    conversations: { store: "memory" },
    database: { url: url.toString() }
  })
  const DAY = 86_400_000
  const query = async (key: string, from: number, to: number) => {
    const q0 = performance.now()
    const res = await fetch(`${gw.url}/admin/v1/usage?key=${key}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`, {
      headers: { authorization: `Bearer ${ADMIN}` }
    })
    const body = await res.json() as { totals: { requests: number } }
    return { ms: performance.now() - q0, requests: body.totals.requests }
  }
  try {
    await query("k0", Date.now() - DAY, Date.now()) // creates the ledger's tables
    const end = Math.floor(Date.now() / DAY) * DAY + DAY
    const start = end - 60 * DAY
    const t0 = performance.now()
    // one row per request: 1000 keys, 20 teams, 3 models, spread evenly over 60 days
    psql(url.toString(), `INSERT INTO gateway_usage
      SELECT ${start}::bigint + (i::bigint * ${Math.floor((60 * DAY) / rows)}), 'k' || (i % 1000), 't' || (i % 20), 'vkey:k' || (i % 1000),
        'general', NULL, (ARRAY['gpt-4o-mini','claude-3-haiku','llama3'])[1 + i % 3], (ARRAY['openai','anthropic','ollama'])[1 + i % 3],
        1, 200, 100 + i % 50, 20 + i % 30, 0, 0, 0.0001, 120, 0, NULL
      FROM generate_series(0, ${rows - 1}) AS i`)
    const inserted = performance.now() - t0
    psql(url.toString(), `INSERT INTO gateway_usage_daily
      SELECT (at / ${DAY}) * ${DAY}, scope, coalesce(key_id, ''), coalesce(team, ''), task, model, provider, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
      FROM gateway_usage GROUP BY 1, 2, 3, 4, 5, 6, 7; ANALYZE gateway_usage; ANALYZE gateway_usage_daily`)
    log(`${rows} rows in ${(inserted / 1000).toFixed(1)} s, rollups + analyze in ${((performance.now() - t0 - inserted) / 1000).toFixed(1)} s`)
    // a month ending now: the partial days from raw rows, the whole days from the rollup
    const to = Date.now()
    const times: Array<number> = []
    let requests = 0
    for (let i = 0; i < 21; i++) {
      const r = await query(`k${(i * 37) % 1000}`, to - 30 * DAY, to)
      times.push(r.ms)
      requests = r.requests
    }
    times.sort((a, b) => a - b)
    report(`| usage | GET /admin/v1/usage, a month of one key at ${(rows / 1e6).toFixed(1)} M rows on Postgres: median ${times[10].toFixed(1)} ms, max ${times[20].toFixed(1)} ms (${requests} requests summed) | target ≤ 50 ms | 21 queries over HTTP |`)
  } finally {
    await gw.close()
    await upstream.close()
    psql(base.toString(), `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  }
}

if (runs("hotpath")) await hotpath()
if (runs("usage")) await usage()
if (runs("budget")) await budgetScenario(report, log)
if (runs("outage")) await outageScenario(report, log, option("seconds-down", 30), option("rate", 200))
process.exit(0)
