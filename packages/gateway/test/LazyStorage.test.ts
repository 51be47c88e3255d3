/**
 * Nothing is written to disk until something needs to be stored: the default SQLite store
 * (`.data/conversations.db` in the working directory) opens on the first conversation write.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { ConversationStorage } from "@llm-gateway/core/conversations/ConversationStorage"
import * as SqliteConversationStorage from "@llm-gateway/storage/SqliteConversationStorage"
import { makeLLMManager } from "../src/index.ts"
import { layerLazy } from "../src/LazyConversationStorage.ts"
import { makeScriptedClient, Scripted } from "../src/testing.ts"

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gateway-lazy-"))
  dirs.push(d)
  return d
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const INDEX = pathToFileURL(resolve(import.meta.dirname, "../src/index.ts")).href

/** A user's script: createDefaultLLMManager() in its own working directory, nothing configured. */
const script = `
import { existsSync } from "node:fs"
import { createDefaultLLMManager, Effect } from ${JSON.stringify(INDEX)}
const manager = createDefaultLLMManager()
const where = process.env.LLM_CONVERSATIONS_PATH ?? ".data/conversations.db"
const seen = { created: existsSync(".data") || existsSync(where) }
const r = await Effect.runPromise(manager.generate({ prompt: "Once upon a time", preferences: { maxTokens: 8 } }))
seen.generated = r.content.length > 0
seen.afterGenerate = existsSync(".data") || existsSync(where)
await Effect.runPromise(manager.chat("c1", "Once upon a time"))
seen.afterChat = existsSync(where)
await manager.dispose()
console.log(JSON.stringify(seen))
`

const runIn = (cwd: string, env: Record<string, string> = {}) =>
  new Promise<Record<string, boolean>>((ok, fail) => {
    // A file, not `node -e`: node-llama-cpp forks a binding check with the parent's execArgv.
    const file = join(cwd, "user-script.mjs")
    writeFileSync(file, script)
    const child = spawn(process.execPath, [file], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: cwd, ...env }
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.on("close", (code) => code === 0 ? ok(JSON.parse(out.trim().split("\n").at(-1)!)) : fail(new Error(`exit ${code}: ${err}`)))
  })

describe("createDefaultLLMManager writes nothing until something is stored", () => {
  it("in a temp cwd: creating and generating leave no .data; the first chat creates .data/conversations.db", async () => {
    const [plain, custom] = await Promise.all([
      runIn(tempDir()),
      runIn(tempDir(), { LLM_CONVERSATIONS_PATH: "state/chats.db" })
    ])
    expect(plain).toEqual({ created: false, generated: true, afterGenerate: false, afterChat: true })
    // the path is configurable (conversations.path / LLM_CONVERSATIONS_PATH)
    expect(custom).toEqual({ created: false, generated: true, afterGenerate: false, afterChat: true })
  }, 60_000)
})

describe("the lazily opened SQLite store", () => {
  it.live("reads before the first write answer 'nothing stored' without creating the file; create opens it", () => {
    const file = join(tempDir(), "sub", "conversations.db")
    const layer = layerLazy({ file, open: SqliteConversationStorage.layer({ path: file }) })
    return Effect.gen(function*() {
      const store = yield* ConversationStorage
      expect((yield* Effect.flip(store.get("c1")))._tag).toBe("ConversationNotFound")
      expect((yield* Effect.flip(store.append("c1", { role: "user", content: "x" })))._tag).toBe("ConversationNotFound")
      expect((yield* Effect.flip(store.delete("c1")))._tag).toBe("ConversationNotFound")
      expect((yield* store.list()).items).toEqual([])
      expect(yield* store.purgeExpired).toBe(0)
      expect(existsSync(file)).toBe(false)
      yield* store.create({ id: "c1", messages: [{ role: "user", content: "hello" }] })
      expect(existsSync(file)).toBe(true)
      expect((yield* store.get("c1")).messages.map((m) => m.content)).toEqual(["hello"])
    }).pipe(Effect.provide(layer))
  })

  it.live("makeLLMManager with store sqlite: generate writes nothing, chat creates the file", () => {
    const file = join(tempDir(), "conversations.db")
    const client = makeScriptedClient({ provider: "openai", script: [Scripted.ok("hello")] })
    const config = {
      providers: [{ name: "openai", type: "openai", apiKey: "sk-test", models: [{ id: "gpt-4o-mini" }] }],
      conversations: { store: "sqlite", path: file }
    }
    return Effect.gen(function*() {
      const manager = yield* makeLLMManager(config, { clients: { openai: client.client } })
      yield* manager.generate({ prompt: "hi" })
      expect(existsSync(file)).toBe(false)
      yield* manager.chat("c1", "hi again")
      expect(existsSync(file)).toBe(true)
    }).pipe(Effect.scoped)
  })
})
