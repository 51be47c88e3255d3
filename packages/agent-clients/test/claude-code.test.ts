/**
 * Claude Code itself (`claude -p`) pointed at the gateway with ANTHROPIC_BASE_URL, on an
 * OpenAI-wire model: a text answer, and a round trip through its `Read` tool.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { claudeCode, type InstalledCli, installClient } from "../src/installClients.ts"
import { baseEnv, runCli } from "../src/runCli.ts"
import { type AgentsGateway, GATEWAY_KEY, MODEL, startAgentsGateway, upstreamContents } from "./support/gateway.ts"

let cli: InstalledCli
let gw: AgentsGateway
let home: string

beforeAll(async () => {
  ;[cli, gw] = await Promise.all([installClient(claudeCode), startAgentsGateway()])
  home = mkdtempSync(join(tmpdir(), "claude-code-"))
}, 300_000)
afterAll(async () => {
  await gw?.close()
  if (home !== undefined) rmSync(home, { recursive: true, force: true })
})

const claude = (prompt: string, cwd: string, extra: ReadonlyArray<string> = []) =>
  runCli(cli.command, ["-p", prompt, "--model", MODEL, "--output-format", "text", "--no-session-persistence", ...extra], {
    cwd,
    timeoutMs: 60_000,
    env: {
      ...baseEnv(home),
      CLAUDE_CONFIG_DIR: join(home, ".claude"),
      ANTHROPIC_BASE_URL: gw.gateway.url,
      ANTHROPIC_API_KEY: GATEWAY_KEY,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: MODEL,
      ANTHROPIC_SMALL_FAST_MODEL: MODEL,
      // offline: no update check, telemetry, error reporting or other calls home
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1"
    }
  })

describe("Claude Code (claude -p) through the gateway", () => {
  it("answers a text prompt", async () => {
    gw.upstream.respond(() => "Paris is the capital of France.")
    const before = gw.upstream.requests().length
    const run = await claude("What is the capital of France?", home)
    expect(run, run.stderr).toMatchObject({ code: 0, timedOut: false })
    expect(run.stdout).toContain("Paris is the capital of France.")
    // the prompt reached the OpenAI-wire upstream as a chat completion on the configured model
    const sent = gw.upstream.requests().slice(before)
    expect(sent.map((r) => r.model)).toContain("gpt-4o-mini")
    expect(sent.flatMap((r) => r.messages).some((m) => m.role === "user" && JSON.stringify(m.content).includes("What is the capital of France?"))).toBe(true)
  }, 70_000)

  it("reads a file with its Read tool and answers from what it read", async () => {
    const dir = mkdtempSync(join(home, "project-"))
    const note = join(dir, "note.txt")
    writeFileSync(note, "The secret word is pineapple.\n")
    gw.upstream.respond((body) => {
      const result = body.messages.find((m) => m.role === "tool")
      if (result === undefined) return { toolCalls: [{ name: "Read", arguments: { file_path: note } }] }
      const word = /secret word is (\w+)/.exec(JSON.stringify(result.content))?.[1] ?? "unknown"
      return `The note says the secret word is ${word}.`
    })
    const before = upstreamContents(gw.upstream, "tool").length
    const run = await claude("What does note.txt say?", dir, ["--tools", "Read", "--allowedTools", "Read"])
    expect(run, run.stderr).toMatchObject({ code: 0, timedOut: false })
    expect(run.stdout).toContain("The note says the secret word is pineapple.")
    // Claude Code ran Read on the file and its result came back through the gateway as a tool message
    expect(upstreamContents(gw.upstream, "tool").slice(before).join("\n")).toContain("The secret word is pineapple.")
  }, 70_000)
})
