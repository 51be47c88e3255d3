/**
 * Codex itself (`codex exec`) with the gateway as a custom model provider (`wire_api =
 * "responses"`), on an OpenAI-wire model: a text answer, and a shell-command round trip.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { codex, type InstalledCli, installClient } from "../src/installClients.ts"
import { baseEnv, runCli } from "../src/runCli.ts"
import { type AgentsGateway, GATEWAY_KEY, MODEL, startAgentsGateway, upstreamContents } from "./support/gateway.ts"

let cli: InstalledCli
let gw: AgentsGateway
let home: string

beforeAll(async () => {
  ;[cli, gw] = await Promise.all([installClient(codex), startAgentsGateway()])
  home = mkdtempSync(join(tmpdir(), "codex-"))
  mkdirSync(join(home, ".codex"))
  // What a user writes to point Codex at the gateway, plus what keeps it offline (no update
  // check, analytics or feedback upload).
  writeFileSync(join(home, ".codex", "config.toml"), [
    `model = "${MODEL}"`,
    `model_provider = "gateway"`,
    `check_for_update_on_startup = false`,
    ``,
    `[analytics]`,
    `enabled = false`,
    ``,
    `[feedback]`,
    `enabled = false`,
    ``,
    `[model_providers.gateway]`,
    `name = "llm-gateway"`,
    `base_url = "${gw.gateway.baseURL}"`,
    `wire_api = "responses"`,
    `env_key = "GATEWAY_API_KEY"`,
    ``
  ].join("\n"))
}, 300_000)
afterAll(async () => {
  await gw?.close()
  if (home !== undefined) rmSync(home, { recursive: true, force: true })
})

const codexExec = (prompt: string, cwd: string) =>
  runCli(cli.command, [
    "exec", "--strict-config", "--skip-git-repo-check", "--ephemeral", "--color", "never",
    // no sandbox is available in a container; the command runs in a temp directory
    "--dangerously-bypass-approvals-and-sandbox",
    prompt
  ], {
    cwd,
    timeoutMs: 60_000,
    env: { ...baseEnv(home), CODEX_HOME: join(home, ".codex"), GATEWAY_API_KEY: GATEWAY_KEY }
  })

describe("Codex (codex exec) through the gateway's Responses API", () => {
  it("answers a text prompt", async () => {
    gw.upstream.respond(() => "Codex reached the gateway.")
    const before = gw.upstream.requests().length
    const run = await codexExec("Say where you are.", home)
    expect(run, run.stderr).toMatchObject({ code: 0, timedOut: false })
    expect(run.stdout).toContain("Codex reached the gateway.")
    const sent = gw.upstream.requests().slice(before)
    expect(sent.map((r) => r.model)).toContain("gpt-4o-mini")
    expect(sent.flatMap((r) => r.messages).some((m) => m.role === "user" && JSON.stringify(m.content).includes("Say where you are."))).toBe(true)
    // Codex offers its shell, a namespace of sub-agent functions and OpenAI's hosted web_search:
    // upstream gets plain functions only (the namespace flattened, web_search left out)
    const tools = (sent[0].tools ?? []) as Array<{ type: string; function?: { name: string } }>
    expect(new Set(tools.map((t) => t.type))).toEqual(new Set(["function"]))
    expect(tools.map((t) => t.function?.name)).toEqual(expect.arrayContaining(["exec_command", "close_agent"]))
  }, 70_000)

  it("runs a shell command the model asks for and answers from its output", async () => {
    const dir = mkdtempSync(join(home, "project-"))
    writeFileSync(join(dir, "note.txt"), "The secret word is mango.\n")
    gw.upstream.respond((body) => {
      const result = body.messages.find((m) => m.role === "tool")
      // login: false — a login shell reads profile files and takes seconds
      if (result === undefined) return { toolCalls: [{ name: "exec_command", arguments: { cmd: "cat note.txt", login: false } }] }
      const word = /secret word is (\w+)/.exec(JSON.stringify(result.content))?.[1] ?? "unknown"
      return `The note says the secret word is ${word}.`
    })
    const before = upstreamContents(gw.upstream, "tool").length
    const run = await codexExec("What does note.txt say?", dir)
    expect(run, run.stderr).toMatchObject({ code: 0, timedOut: false })
    expect(run.stdout).toContain("The note says the secret word is mango.")
    // Codex ran `cat note.txt` and its output came back through the gateway as the tool result
    expect(upstreamContents(gw.upstream, "tool").slice(before).join("\n")).toContain("The secret word is mango.")
  }, 70_000)
})
