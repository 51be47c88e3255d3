/**
 * Caller-controlled values must not grow the gateway's memory: the `x-llm-task` header used to
 * become a usage-accounting key (and a cache dimension) as sent, so distinct values grew the
 * heap by ~4 KB each (issue 20: 20,000 values, +84 MB). Measured on the live heap after a full
 * GC, through the real server and the official `openai` client.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configFor, type Fakes, type Gateway, raw, startFakes, startGateway } from "./support/harness.ts"

// `gc()` without `--expose-gc` on the command line: the flag takes effect for new contexts.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as (options?: { type: "major"; execution: "sync" }) => void

const liveHeap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

let fakes: Fakes
beforeAll(async () => {
  fakes = await startFakes()
})
afterAll(() => fakes?.close())

/** A 4 KB task name no request has sent before. */
const taskName = (i: number) => `task-${i}-`.padEnd(4096, "x")

describe("x-llm-task is bounded", () => {
  let gw: Gateway
  let client: ReturnType<Gateway["client"]>
  beforeAll(async () => {
    gw = await startGateway(configFor(fakes, { routing: { fallbackOrder: ["openai/gpt-4o-mini"], maxRetries: 0 } }))
    client = gw.client()
  })
  afterAll(() => gw?.close())

  // One client: a client per request grows the test's own heap.
  const send = (task: string) =>
    client.chat.completions.create(
      { model: "auto", messages: [{ role: "user", content: "What is the CPU usage?" }] },
      { headers: { "x-llm-task": task } }
    )

  const sendAll = async (from: number, count: number) => {
    for (let i = from; i < from + count; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, from + count - i) }, (_, j) => send(taskName(i + j))))
    }
  }

  it("N requests with distinct 4 KB task values grow the live heap by under 1 KB each", async () => {
    // Warm up (SDK, pools, cache entries, optimised code): the first ~1,000 requests settle
    // ~3 MB that later ones do not add to.
    await sendAll(0, 1000)
    const before = liveHeap()
    const n = 3000
    await sendAll(1_000_000, n)
    const grown = liveHeap() - before
    // The bound, scaled: 20,000 distinct values must add < 20 MB. Measured: ~1.4 MB
    // here; 18 MB before task names were bounded.
    expect(grown).toBeLessThan(n * 1024)
  }, 120_000)

  it("an unknown task is routed and accounted as `general`; alert-classification is a task of its own", async () => {
    const first = await send("some-task-nobody-configured")
    expect(first.choices[0].message.content).toBe("Hello from the fake upstream.")
    await send("alert-classification")
    const status = await raw(`${gw.url}/api/v1/llm/status`, { method: "GET" })
    expect(status.status).toBe(200)
    expect(status.text).not.toContain("some-task-nobody-configured")
    expect(status.text).not.toContain("xxxxxxxx")
  })
})

describe("routing.unknownTasks: reject", () => {
  let gw: Gateway
  beforeAll(async () => {
    gw = await startGateway(configFor(fakes, {
      routing: { fallbackOrder: ["openai/gpt-4o-mini"], maxRetries: 0, unknownTasks: "reject", tasks: { triage: ["openai/gpt-4o-mini"] } }
    }))
  })
  afterAll(() => gw?.close())

  const chat = (task: string) =>
    raw(`${gw.url}/v1/chat/completions`, {
      body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: "hi" }] }),
      headers: { "x-llm-task": task }
    })

  it("refuses an unknown task with a 400 naming the field, quoting at most 64 characters of it", async () => {
    const r = await chat(taskName(1))
    expect(r.status).toBe(400)
    expect((r.json as { error: Record<string, unknown> }).error).toMatchObject({ type: "InvalidRequest", code: "invalid_request", param: "taskType" })
    expect(r.text.length).toBeLessThan(1024)
  })

  it("never refuses a built-in task (alert-classification included) or a configured one", async () => {
    for (const task of ["general", "analysis", "sql", "alert-classification", "triage"]) {
      const r = await chat(task)
      expect([task, r.status]).toEqual([task, 200])
    }
  })
})
