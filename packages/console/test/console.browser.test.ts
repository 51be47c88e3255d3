/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against a real gateway process (`gateway serve`, as a user runs it) over fake upstreams and
 * the embedded model. Screenshots of each view land in `packages/console/.artifacts/`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type FakeOpenAI, startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ROOT = resolve(import.meta.dirname, "../../..")
const ARTIFACTS = resolve(import.meta.dirname, "../.artifacts")
const KEY = "console-test-key-0123456789"
const ADMIN_KEY = "console-admin-key-0123456789"
const UPSTREAM_KEY = "sk-upstream-canary-01"
const SLOW_REPLY = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ")

const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const probe = createServer()
    probe.once("error", fail)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? ok(address.port) : fail(new Error("no port"))))
    })
  })

let dir: string
let gateway: ChildProcess
let url: string
let openai: FakeOpenAI
let slow: FakeOpenAI
let browser: BrowserContext
let page: Page
const requested: Array<string> = []
const gatewayLog: Array<string> = []

const startGateway = async () => {
  const port = await freePort()
  const config = join(dir, "gateway.yaml")
  writeFileSync(config, `
server: { host: 127.0.0.1, port: ${port}, apiKeys: ["${KEY}"], adminKeys: ["${ADMIN_KEY}"] }
providers:
  - name: openai
    type: openai
    baseUrl: "${openai.baseUrl}"
    apiKey: "${UPSTREAM_KEY}"
    models: [{ id: gpt-4o-mini, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
  - { name: slow, type: openai-compatible, baseUrl: "${slow.baseUrl}", models: [{ id: slow-model }] }
  - { name: local, type: llamacpp, modelPath: "${join(ROOT, "models/stories260K.gguf")}", threads: 1 }
routing:
  fallbackOrder: [local/stories260K]
  maxRetries: 0
  circuitBreaker: { failureThreshold: 2, successThreshold: 1, openMs: 60000 }
cache: { enabled: true, ttlSeconds: 60, maxSize: 100 }
conversations: { store: memory }
`)
  gateway = spawn(join(ROOT, "node_modules/.bin/node"), [join(ROOT, "packages/server/src/cli.ts"), "serve", "--config", config], {
    cwd: dir,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true", LLM_EMBEDDED_DEFAULT: "false" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  gateway.stdout!.on("data", (b: Buffer) => gatewayLog.push(b.toString()))
  gateway.stderr!.on("data", (b: Buffer) => gatewayLog.push(b.toString()))
  url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || gateway.exitCode !== null) throw new Error(`gateway did not start:\n${gatewayLog.join("")}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const launchBrowser = async () => {
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "console-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"
    ]
  })
  page = browser.pages()[0] ?? await browser.newPage()
  // every tab of the context: the second tabs (a virtual key's, a gateway without admin API) too
  browser.on("request", (r) => void requested.push(r.url()))
}

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  dir = mkdtempSync(join(tmpdir(), "console-test-"))
  ;[openai, slow] = await Promise.all([
    startFakeOpenAI({ reply: "Hello from the fake upstream.", apiKey: UPSTREAM_KEY }),
    startFakeOpenAI({ reply: SLOW_REPLY, chunkIntervalMs: 150 })
  ])
  await Promise.all([startGateway(), launchBrowser()])
}, 40_000)

afterAll(async () => {
  await browser?.close()
  if (gateway?.pid !== undefined && gateway.exitCode === null) process.kill(-gateway.pid, "SIGTERM")
  await Promise.all([openai?.close(), slow?.close()])
  rmSync(dir, { recursive: true, force: true })
})

const signIn = async (key: string) => {
  await page.getByLabel("Gateway key").fill(key)
  await page.getByRole("button", { name: "Sign in" }).click()
}

describe("web console at /ui", () => {
  it("a wrong key shows a clear message; the page paints fast, loads little, holds no secret", async () => {
    // a first navigation to the origin spins up the renderer; the paint measured is the page's own
    await page.goto(`${url}/health`)
    const res = await page.goto(`${url}/ui`)
    expect(res?.status()).toBe(200)
    expect(await res!.text()).not.toContain(KEY)
    // the stylesheet is inlined (no render-blocking request) and allowed by its hash only
    expect(res!.headers()["content-security-policy"]).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*';/)
    expect(await page.evaluate(() => getComputedStyle(document.querySelector(".top")!).backgroundColor)).toBe("rgb(17, 24, 39)")
    await signIn("not-the-key")
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("did not accept this key")
    await shot("login-wrong-key")
    const perf = await page.evaluate(() => {
      const fcp = performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming
      const resources = performance.getEntriesByType("resource") as Array<PerformanceResourceTiming>
      return { fcp, bytes: nav.encodedBodySize + resources.reduce((s, r) => s + r.encodedBodySize, 0) }
    })
    console.log(`console: first contentful paint ${perf.fcp?.toFixed(0)} ms, ${perf.bytes} bytes loaded (gzip)`)
    expect(perf.fcp).not.toBeNull()
    expect(perf.fcp!).toBeLessThanOrEqual(300)
    expect(perf.bytes).toBeLessThanOrEqual(150 * 1024)
  })

  it("signs in with a key and shows every configured provider, live", async () => {
    await signIn(KEY)
    for (const p of ["openai", "slow", "local"]) await page.locator(`tr[data-provider="${p}"]`).waitFor()
    await expect.poll(() => page.locator("tr[data-provider=openai] .circuit").textContent()).toBe("closed")
    // the key lives in session storage only
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem("llm-gateway.key"), local: localStorage.length, cookie: document.cookie }))
    expect(stored).toEqual({ session: KEY, local: 0, cookie: "" })
  })

  it("Keys and Usage over the admin API: create a key (shown once), use it, see its usage, edit its limits, revoke it", async () => {
    page.on("dialog", (d) => void d.accept())
    await page.getByRole("link", { name: "Keys" }).click()
    await page.getByLabel("Admin key").fill(ADMIN_KEY)
    await page.getByRole("button", { name: "Continue" }).click()
    await page.getByLabel("Name").fill("ci-bot")
    await page.getByLabel("Team").fill("platform")
    await page.getByLabel("rpm").fill("60")
    await page.getByLabel("Budget (USD)").fill("5")
    await page.getByRole("button", { name: "Create key" }).click()
    const secret = (await page.locator("#new-key").textContent())!
    expect(secret).toMatch(/^sk-gw-/)
    const row = page.locator("tr", { has: page.getByRole("rowheader", { name: "ci-bot" }) })
    await expect.poll(() => row.locator(".key-status").textContent()).toBe("active")
    expect(await row.textContent()).toContain("60 rpm")
    // shown once: the list holds only the key's prefix, and a reload shows it no more
    expect(await page.locator("table").textContent()).not.toContain(secret)

    // the new key works, and a second tab signs in with it
    const asKey = (key: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 8, messages: [{ role: "user", content: "usage check" }] })
      })
    expect((await asKey(secret)).status).toBe(200)
    const user = await browser.newPage()
    await user.goto(`${url}/ui`)
    await user.getByLabel("Gateway key").fill(secret)
    await user.getByRole("button", { name: "Sign in" }).click()
    await user.locator("tr[data-provider=openai]").waitFor()
    // a tab in the background gets no animation frames: playwright's clicks wait on them
    await page.bringToFront()

    // Usage: per key, the new key's request with its spend and tokens; per model and per team too
    await page.getByRole("link", { name: "Usage" }).click()
    await page.getByLabel("Group").selectOption("key")
    await page.getByRole("button", { name: "Show" }).click()
    const usageRow = page.locator("#usage-table tbody tr", { has: page.getByRole("rowheader", { name: "ci-bot" }) })
    await usageRow.waitFor()
    const cells = await usageRow.locator("td").allTextContents()
    expect(cells[0]).toBe("1")
    expect(Number(cells[1]) + Number(cells[2])).toBeGreaterThan(0)
    expect(cells[3]).toMatch(/^\$\d/)
    expect(await page.locator("svg.bars").first().getAttribute("aria-label")).toContain("ci-bot")
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()])
    const csv = readFileSync((await download.path())!, "utf8").trim().split("\n")
    expect(csv[0]).toBe("key,from,to,requests,prompt_tokens,completion_tokens,cost_usd")
    const line = csv.find((l) => l.startsWith("ci-bot,"))!.split(",")
    expect(line[3]).toBe("1")
    expect(Number(line[6])).toBeGreaterThan(0)
    await page.getByLabel("Group").selectOption("team")
    await page.getByRole("button", { name: "Show" }).click()
    await page.locator("#usage-table tbody th", { hasText: "platform" }).waitFor()
    await page.getByLabel("Group").selectOption("model")
    await page.getByRole("button", { name: "Show" }).click()
    await page.locator("#usage-table tbody th", { hasText: "openai/gpt-4o-mini" }).waitFor()
    // per task: the request named none, so it ran as general
    await page.getByLabel("Group").selectOption("task")
    await page.getByRole("button", { name: "Show" }).click()
    await page.locator("#usage-table tbody th", { hasText: "general" }).waitFor()
    expect(await page.locator("#usage-table thead th").first().textContent()).toBe("Task")
    await page.getByLabel("Group").selectOption("key")
    await page.getByRole("button", { name: "Show" }).click()
    await usageRow.waitFor()
    await shot("usage")

    // edit limits: the table and the API both show the new rpm
    await page.getByRole("link", { name: "Keys" }).click()
    await page.getByRole("button", { name: "Edit limits of ci-bot" }).click()
    await page.getByRole("dialog").getByLabel("rpm").fill("5")
    await page.getByRole("dialog").getByRole("button", { name: "Save" }).click()
    await expect.poll(() => row.locator(".key-limits").textContent()).toBe("5 rpm")
    const id = await row.getAttribute("data-key-id")
    const record = await (await fetch(`${url}/admin/v1/keys/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json() as { rpm: number }
    expect(record.rpm).toBe(5)

    // revoke: 401 at once, and the tab signed in with it says why
    await page.getByRole("button", { name: "Revoke ci-bot" }).click()
    await expect.poll(() => row.locator(".key-status").textContent()).toBe("revoked")
    await shot("keys")
    const refused = await asKey(secret)
    expect(refused.status).toBe(401)
    await expect.poll(() => user.getByRole("alert").textContent(), { timeout: 5_000 }).toContain("no longer accepts this key")
    await user.screenshot({ path: join(ARTIFACTS, "revoked-key.png") })
    await user.close()
    await page.getByRole("link", { name: "Overview" }).click()
  }, 30_000)

  it("shows a circuit open within 5 s of the failures that opened it", async () => {
    openai.enqueueFault({ kind: "status", status: 500 }, 2)
    for (let i = 0; i < 2; i++) {
      await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 4, messages: [{ role: "user", content: `fail ${i}` }] })
      })
    }
    const opened = Date.now()
    await page.locator("tr[data-provider=openai] .circuit", { hasText: "open" }).waitFor({ timeout: 5_000 })
    console.log(`console: circuit shown open ${Date.now() - opened} ms after the second failure`)
    await page.locator("tr[data-model='openai/gpt-4o-mini'] .circuit", { hasText: "open" }).waitFor({ timeout: 2_000 })
    await shot("overview")
    await page.setViewportSize({ width: 390, height: 844 })
    await shot("overview-narrow")
    await page.setViewportSize({ width: 1280, height: 860 })
  }, 20_000)

  it("streams a playground answer from the embedded model and shows the attempts and cost", async () => {
    await page.getByRole("link", { name: "Playground" }).click()
    await page.getByLabel("Model").selectOption("auto")
    await page.getByLabel("Task type").selectOption("general")
    await page.getByLabel("Message").fill("Once upon a time")
    await page.getByLabel("Max tokens").fill("48")
    // count the answer's updates: a streamed answer arrives in several
    await page.evaluate(() => {
      const w = window as unknown as { updates: number }
      w.updates = 0
      new MutationObserver(() => w.updates++).observe(document.getElementById("answer")!, { childList: true, characterData: true, subtree: true })
    })
    await page.getByRole("button", { name: "Send" }).click()
    await page.locator("#play-state", { hasText: "Done" }).waitFor({ timeout: 15_000 })
    expect(await page.evaluate(() => (window as unknown as { updates: number }).updates)).toBeGreaterThan(3)
    const panel = page.locator("#attempts")
    await expect.poll(() => panel.textContent()).toContain("local/stories260K")
    const text = (await panel.textContent())!
    expect(text).toMatch(/Attempts/)
    expect(text).toMatch(/Cost \$\d/)
    expect(text).toMatch(/\d+ prompt \+ \d+ completion/)
    expect(await page.locator("#attempts tbody tr").first().textContent()).toMatch(/local\/stories260K\s*ok/)
    expect(await page.locator("#attempts tbody tr").first().locator("td.num").textContent()).toMatch(/^\d+(\.\d)? ms$/)
    expect((await page.locator(".transcript .assistant").textContent())!.length).toBeGreaterThan(20)
    // the named model's circuit is open (previous test): the answer comes from the fallback
    await page.getByLabel("Model").selectOption("openai/gpt-4o-mini")
    await page.getByLabel("Message").fill("And then?")
    await page.getByRole("button", { name: "Send" }).click()
    await page.locator("#play-state", { hasText: "Done" }).waitFor({ timeout: 15_000 })
    // the named model never got the request: the panel says why, then who answered
    await expect.poll(() => page.locator("#attempts tbody tr").allTextContents()).toHaveLength(2)
    const rows = await page.locator("#attempts tbody tr").allTextContents()
    expect(rows[0]).toMatch(/openai\/gpt-4o-mini\s*skipped \(CircuitOpen\)/)
    expect(rows[1]).toMatch(/local\/stories260K\s*ok/)
    // the per-attempt header the panel reads, as any client gets it
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, "x-llm-route": "include" },
      body: JSON.stringify({ model: "local/stories260K", max_tokens: 4, messages: [{ role: "user", content: "Once" }] })
    })
    expect(res.headers.get("x-llm-route")).toMatch(/^local\/stories260K;ok;\d+\.\d$/)
    expect(((await res.json()) as { usage: { cost_usd?: number } }).usage.cost_usd).toBe(0)
    const streamed = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, "x-llm-route": "include" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, max_tokens: 4, messages: [{ role: "user", content: "Once more" }] })
    })
    expect(streamed.headers.get("x-llm-route")).toMatch(/^openai\/gpt-4o-mini;skipped:CircuitOpen;0\.0, local\/stories260K;ok;\d+\.\d$/)
    await streamed.text()
    await shot("playground")
  }, 25_000)

  it("Stop cancels the stream and the upstream connection closes", async () => {
    await page.getByRole("button", { name: "New conversation" }).click()
    await page.getByLabel("Model").selectOption("slow/slow-model")
    await page.getByLabel("Message").fill("Tell me a long story")
    const closedBefore = slow.server.closedConnections()
    await page.getByRole("button", { name: "Send" }).click()
    await expect.poll(() => page.locator("#answer").textContent(), { timeout: 5_000 }).toContain("word3")
    const stopped = Date.now()
    await page.getByRole("button", { name: "Stop" }).click()
    await page.locator("#play-state", { hasText: "Stopped" }).waitFor()
    // the upstream would stream for ~9 s more: its connection closes because the gateway aborted it
    await slow.server.waitForClosedConnections(closedBefore + 1, 3_000)
    console.log(`console: upstream connection closed ${Date.now() - stopped} ms after Stop`)
    expect(await page.locator("#answer").textContent()).not.toContain("word59")
    await shot("playground-stopped")
  }, 10_000)

  it("hides Usage and Keys while the gateway has no admin API (404), and asked only the gateway", async () => {
    await expect.poll(() => page.locator("#nav a").allTextContents()).toEqual(["Overview", "Playground", "Usage", "Keys"])
    // a gateway without the admin API answers its probe 404
    const other = await browser.newPage()
    await other.route("**/admin/v1/keys", (r) => r.fulfill({ status: 404, contentType: "application/json", body: "{}" }))
    const probed = other.waitForResponse((r) => r.url().endsWith("/admin/v1/keys"))
    await other.goto(`${url}/ui#/keys`)
    await probed
    await other.getByLabel("Gateway key").fill(KEY)
    await other.getByRole("button", { name: "Sign in" }).click()
    await expect.poll(() => other.locator("#nav a").allTextContents()).toEqual(["Overview", "Playground"])
    expect(await other.title()).toBe("Overview · LLM Gateway")
    await other.close()
    // a CSV export is a blob: of the page's own origin, not a request elsewhere
    const foreign = requested.filter((u) => !u.startsWith(`${url}/`) && !u.startsWith(`blob:${url}/`))
    expect(foreign).toEqual([])
  })
})
