/**
 * A file that exists but is not a usable GGUF: the client builds (only existence is checked up
 * front), and the lazy load on the first request fails with ConfigurationError naming the file.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { MODEL_PATH, request, setup } from "./fixtures.ts"

const tempFile = (name: string, bytes: Uint8Array) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await mkdtemp(NodePath.join(tmpdir(), "llamacpp-test-"))
      const path = NodePath.join(dir, name)
      await writeFile(path, bytes)
      return { dir, path }
    }),
    ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ path }) => path))

describe("LlamaCppClient with a corrupt model file", () => {
  it.live("garbage: builds, then every request fails with ConfigurationError; health turns unhealthy", () =>
    Effect.gen(function*() {
      const path = yield* tempFile("garbage.gguf", new TextEncoder().encode("not a gguf at all ".repeat(200)))
      const client = yield* setup({ modelPath: path })
      expect((yield* client.health).healthy).toBe(true) // nothing loaded yet

      // Two first requests at once share the one (failing) load.
      const errors = yield* Effect.all(
        [client.generate(request()), client.generate(request())].map(Effect.flip),
        { concurrency: "unbounded" }
      )
      for (const error of errors) {
        expect(error._tag).toBe("ConfigurationError")
        expect(error).toMatchObject({ path })
        expect(error.message).toContain(path)
      }
      expect(errors[0]).toBe(errors[1])
      const again = yield* Effect.flip(client.generate(request()))
      expect(again._tag).toBe("ConfigurationError")

      const health = yield* client.health
      expect(health.healthy).toBe(false)
      expect(health.error).toContain(path)
    }))

  it.live("a truncated GGUF: the streamed request fails with llama.cpp's own reason", () =>
    Effect.gen(function*() {
      const real = yield* Effect.promise(() => readFile(MODEL_PATH))
      const path = yield* tempFile("truncated.gguf", real.subarray(0, 500_000))
      const client = yield* setup({ modelPath: path })
      const error = yield* Effect.flip(Stream.runCollect(client.stream(request())))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.message).toContain(path)
      expect(error.message).toMatch(/corrupted or incomplete|not within the file bounds/)
    }))
})
