/**
 * Chat throughput of the two transports (SDK vs direct) against a FakeOpenAI in a child process,
 * at a fixed concurrency, with a raw undici `Pool.request` + `JSON.parse` loop as the ceiling.
 *
 *   cd /work/main && pnpm exec node packages/openai/test/transport.bench.ts [--seconds 2] [--rounds 5] [--concurrency 16]
 *
 * Modes are interleaved round by round (other sessions share this machine; a ratio within a round
 * is steadier than an absolute figure) and the median over rounds is printed. With `taskset`
 * available the upstream runs on core 1 and this process on core 0.
 * Results and the decision they support: notes/transport.md.
 */
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { Effect, Exit, Redacted, Scope, Stream } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { createInterface } from "node:readline"
import { Pool } from "undici"
import { makeOpenAIClient } from "../src/OpenAIClient.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

if (process.argv.includes("--upstream")) {
  // Child: the fake upstream; dies with its parent (stdin closes).
  const fake = await startFakeOpenAI({ apiKey: "sk-bench" })
  console.log(fake.baseUrl)
  process.stdin.on("end", () => process.exit(0)).resume()
} else {
  await main()
}

async function main() {
  const seconds = arg("seconds", 2)
  const rounds = arg("rounds", 5)
  const concurrency = arg("concurrency", 16)
  const pinned = spawnSync("taskset", ["-V"]).status === 0
  const command = pinned ? "taskset" : process.execPath
  const args = [import.meta.filename, "--upstream"]
  const child = spawn(command, pinned ? ["-c", "1", process.execPath, ...args] : args, { stdio: ["pipe", "pipe", "inherit"] })
  if (pinned) spawnSync("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" })
  const baseUrl = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once("line", (line) => resolve(line.trim()))
  )

  const config = {
    name: "bench",
    type: "openai-compatible" as const,
    baseUrl,
    apiKey: Redacted.make("sk-bench"),
    models: [{ id: "gpt-4o-mini" }]
  }
  const req = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say hello to the benchmark." }] }

  const scope = Effect.runSync(Scope.make())
  const [sdk, direct] = await Effect.runPromise(Scope.provide(
    Effect.all([makeOpenAIClient(config, { transport: "sdk" }), makeOpenAIClient(config, { transport: "direct" })]),
    scope
  ))
  const origin = new URL(baseUrl).origin
  const pool = new Pool(origin, { pipelining: 1 })
  const rawBody = JSON.stringify({ model: req.model, messages: req.messages })
  const rawHeaders = { authorization: "Bearer sk-bench", "content-type": "application/json", accept: "application/json" }
  const raw = async () => {
    const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers: rawHeaders, body: rawBody })
    const body = JSON.parse(await res.body.text()) as { choices: Array<unknown> }
    if (res.statusCode !== 200 || body.choices.length !== 1) throw new Error("raw request failed")
  }

  /** Requests per second over `seconds`, `concurrency` callers in a closed loop. */
  const effectLoop = (call: Effect.Effect<unknown, unknown>) =>
    Effect.runPromise(Effect.gen(function*() {
      let done = 0
      const end = performance.now() + seconds * 1000
      const worker = Effect.gen(function*() {
        while (performance.now() < end) {
          yield* call
          done++
        }
      })
      const started = performance.now()
      yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded" })
      return done / ((performance.now() - started) / 1000)
    }))
  const promiseLoop = async (call: () => Promise<void>) => {
    let done = 0
    const end = performance.now() + seconds * 1000
    const started = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call()
        done++
      }
    }))
    return done / ((performance.now() - started) / 1000)
  }

  const modes: ReadonlyArray<readonly [string, () => Promise<number>]> = [
    ["sdk generate", () => effectLoop(sdk.generate(req))],
    ["direct generate", () => effectLoop(direct.generate(req))],
    ["sdk stream", () => effectLoop(Stream.runDrain(sdk.stream(req)))],
    ["direct stream", () => effectLoop(Stream.runDrain(direct.stream(req)))],
    ["raw Pool.request + JSON.parse", () => promiseLoop(raw)]
  ]
  const results = new Map<string, Array<number>>(modes.map(([name]) => [name, []]))
  for (const [, run] of modes) await run() // warm-up: JIT, connections
  for (let round = 1; round <= rounds; round++) {
    for (const [name, run] of modes) results.get(name)!.push(await run())
    process.stderr.write(`round ${round}/${rounds} done\n`)
  }

  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  /** Median over rounds of a per-round ratio: steadier than a ratio of medians on a shared machine. */
  const ratio = (name: string, base: string) => {
    const xs = results.get(name)!
    const ys = results.get(base)!
    return median(xs.map((x, i) => x / ys[i])).toFixed(2)
  }
  console.log(`\nconcurrency ${concurrency}, ${seconds} s × ${rounds} rounds, upstream pinned: ${pinned}`)
  console.log("| mode | req/s (median) | min–max | × sdk, same kind | × raw |")
  console.log("|---|---:|---:|---:|---:|")
  for (const [name] of modes) {
    const xs = results.get(name)!
    const same = name.endsWith("stream") ? "sdk stream" : "sdk generate"
    console.log(
      `| ${name} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} | ${
        name.startsWith("raw") ? "" : ratio(name, same)
      } | ${ratio(name, "raw Pool.request + JSON.parse")} |`
    )
  }
  console.log(`load average: ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}`)

  await pool.destroy()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  child.kill()
}
