import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { spawnNode, stop, waitReady } from "../src/procs/Processes.ts"

const src = Path.resolve(import.meta.dirname, "../src")

describe("bench child processes", () => {
  it("starts a child that reports its port, and stops it", async () => {
    const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bench-test-"))
    const child = await waitReady(spawnNode({ name: "upstream", cpu: undefined, script: Path.join(src, "upstream/main.ts"), args: ["{}"], logDir }))
    const res = await fetch(`http://127.0.0.1:${child.port}/v1/models`)
    expect(res.status).toBe(200)
    await stop(child)
    expect(child.exited()).toBe(true)
    await expect(fetch(`http://127.0.0.1:${child.port}/v1/models`)).rejects.toThrow()
  })

  it("the guard preload holds a server that names no host to loopback", () => {
    const address = execFileSync(process.execPath, [
      "--import",
      Path.join(src, "procs/guard.js"),
      "-e",
      "const s = require('node:http').createServer(); s.listen(0, () => { console.log(s.address().address); s.close() })"
    ], { encoding: "utf8" }).trim()
    expect(address).toBe("127.0.0.1")
  })
})
