/** The field rule for llama.cpp (issue 11): OpenAI's `seed` is node-llama-cpp's sampling seed. */
import { expect, it } from "@effect/vitest"
import { decideFields } from "@llm-gateway/core/providers/RequestFields"
import { Effect } from "effect"
import { request, setup } from "./fixtures.ts"

it.live("the same seed samples the same answer at temperature 1; another seed another answer", () =>
  Effect.gen(function*() {
    const client = yield* setup()
    const sample = (seed: number) => client.generate(request({ temperature: 1, maxTokens: 24, extra: { seed } }))
    const a = yield* sample(7)
    const b = yield* sample(7)
    const c = yield* sample(8)
    expect(b.content).toBe(a.content)
    expect(c.content).not.toBe(a.content)
  }).pipe(Effect.scoped), 60_000)

it.live("declares seed mapped, user ignored, penalties refused; token arrays and dimensions are a 400", () =>
  Effect.gen(function*() {
    const client = yield* setup()
    expect(decideFields(client.fields, { seed: 1, user: "u" })).toEqual({ send: { seed: 1 }, ignored: ["user"], refused: undefined })
    expect(decideFields(client.fields, { frequency_penalty: 0.5 }).refused).toBe("frequency_penalty")
    const tokens = yield* Effect.flip(client.embed({ model: "stories260K", input: [[1, 2]] }))
    expect(tokens).toMatchObject({ _tag: "InvalidRequest", param: "input" })
    const dims = yield* Effect.flip(client.embed({ model: "stories260K", input: ["a"], dimensions: 4 }))
    expect(dims).toMatchObject({ _tag: "InvalidRequest", param: "dimensions" })
  }).pipe(Effect.scoped))
