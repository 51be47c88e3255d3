/**
 * The direct transport's SSE splitter: whatever way the network cuts the body into chunks, the
 * same events come out, with the spec's line endings, fields and comments.
 */
import { describe, expect, it } from "@effect/vitest"
import { SseSplitter } from "../src/internal/sse.ts"

type Seen = Array<readonly [string | undefined, string]>

const feed = (chunks: ReadonlyArray<string>): Seen => {
  const seen: Seen = []
  const splitter = new SseSplitter()
  for (const chunk of chunks) splitter.push(chunk, (event, data) => seen.push([event, data]))
  return seen
}

const BODY = [
  "\uFEFF: keep-alive comment",
  "data: {\"a\":1}",
  "",
  "event: error",
  "data:{\"message\":\"no space after the colon\"}",
  "",
  "id: 7",
  "retry: 1000",
  "data: first line",
  "data: second line",
  "",
  "event: ping",
  "",
  "data:",
  "",
  "data: [DONE]",
  "",
  "data: unterminated at the end of the body"
]

const EXPECTED: Seen = [
  [undefined, "{\"a\":1}"],
  ["error", "{\"message\":\"no space after the colon\"}"],
  [undefined, "first line\nsecond line"],
  [undefined, "[DONE]"]
]

describe("SseSplitter", () => {
  for (const [name, eol] of [["LF", "\n"], ["CRLF", "\r\n"], ["CR", "\r"]] as const) {
    it(`${name} line endings, split at every position`, () => {
      const body = BODY.join(eol)
      expect(feed([body])).toEqual(EXPECTED)
      for (let i = 1; i < body.length; i++) {
        expect(feed([body.slice(0, i), body.slice(i)])).toEqual(EXPECTED)
      }
      // one character at a time: every line, every CRLF, split
      expect(feed(Array.from(body))).toEqual(EXPECTED)
    })
  }

  it("an event that outgrows the bound fails instead of buffering forever", () => {
    const splitter = new SseSplitter()
    const big = "x".repeat(1024 * 1024)
    expect(() => {
      for (let i = 0; i < 20; i++) splitter.push(i === 0 ? `data: ${big}` : big, () => undefined)
    }).toThrow(SyntaxError)
  })

  it("a handler that throws stops the push with its error", () => {
    const splitter = new SseSplitter()
    const boom = new Error("boom")
    expect(() =>
      splitter.push("data: 1\n\ndata: 2\n\n", () => {
        throw boom
      })
    ).toThrow(boom)
  })
})
