/**
 * The committed bundle (`dist-ui/`) is what a fresh clone serves with no build step, so it must
 * be what the sources build to; it must stay small, and hold nothing secret or foreign.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { buildUi, distDir } from "../src/build.ts"

const committed = () => new Map(readdirSync(distDir).map((name) => [name, readFileSync(join(distDir, name), "utf8")]))

describe("console bundle", () => {
  it("the committed dist-ui/ is what the sources build to (rebuild: node packages/console/src/build.ts)", async () => {
    const built = await buildUi()
    const files = committed()
    expect([...files.keys()].sort()).toEqual([...built.keys()].sort())
    for (const [name, text] of built) expect(files.get(name), `dist-ui/${name} is stale`).toBe(text)
  }, 30_000)

  it("everything /ui loads is at most 150 KB gzipped", () => {
    let total = 0
    for (const text of committed().values()) total += gzipSync(text, { level: 9 }).length
    expect(total).toBeLessThan(150 * 1024)
  })

  it("names no other origin and holds no key", () => {
    for (const [name, text] of committed()) {
      // the SVG namespace is an identifier, not a request
      const urls = [...text.matchAll(/\b(?:https?|wss?):\/\/[^\s"'`)]+/g)].map((m) => m[0]).filter((u) => u !== "http://www.w3.org/2000/svg")
      expect(urls, name).toEqual([])
      expect(text, name).not.toMatch(/\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}|Bearer [A-Za-z0-9._-]{8,}|AKIA[0-9A-Z]{12,}/)
    }
  })
})
