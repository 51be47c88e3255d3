/**
 * A batch of ledger rows as columns, for the message to the writer thread (`LedgerWorker.ts`).
 *
 * Why: `postMessage` structured-clones what it sends, and a row object is cloned with every one of
 * its 18 property names, every row: with ~10,000 rows a second at saturation that was ~3 µs of
 * the main thread per request (CPU profile, 2026-12-07, notes/benchmarks.md). As columns, the
 * numbers are two typed arrays whose buffers are transferred (moved, not copied), and the
 * strings, which repeat (scope, task, model, provider), go once each in a table that the rows
 * index. The thread decodes the rows again; `decodeRows(encodeRows(rows))` equals `rows`
 * (ledgerColumns.property.test.ts).
 *
 * No imports at run time: the thread's bundle inlines this file (test/ledgerWorkerBundle.ts).
 */
import type { LedgerRow } from "./ledgerTypes.ts"

/** The numeric fields, in column order. */
const NUMBERS = [
  "at",
  "attempts",
  "status",
  "promptTokens",
  "completionTokens",
  "cachedTokens",
  "reasoningTokens",
  "costUsd",
  "latencyMs"
] as const

export interface LedgerColumns {
  readonly n: number
  /** `NUMBERS` of row i at `i * 9 …`. */
  readonly numbers: Float64Array
  /** Per row: keyId, team, scope, task, requestedModel, model, provider as indexes into `strings`; 0 is null. */
  readonly refs: Uint32Array
  readonly strings: ReadonlyArray<string>
  readonly cacheHit: Uint8Array
  /** Only when a row of the batch has a `body` key: each row's, as it was (string, null or undefined). */
  readonly bodies?: ReadonlyArray<string | null | undefined>
}

const WIDTH = NUMBERS.length
const STRINGS = 7

export const encodeRows = (rows: ReadonlyArray<LedgerRow>): LedgerColumns => {
  const n = rows.length
  const numbers = new Float64Array(n * WIDTH)
  const refs = new Uint32Array(n * STRINGS)
  const cacheHit = new Uint8Array(n)
  const strings: Array<string> = [""]
  const index = new Map<string, number>()
  const ref = (s: string | null): number => {
    if (s === null) return 0
    let i = index.get(s)
    if (i === undefined) {
      i = strings.push(s) - 1
      index.set(s, i)
    }
    return i
  }
  let bodies: Array<string | null | undefined> | undefined
  for (let i = 0; i < n; i++) {
    const r = rows[i]
    const at = i * WIDTH
    numbers[at] = r.at
    numbers[at + 1] = r.attempts
    numbers[at + 2] = r.status
    numbers[at + 3] = r.promptTokens
    numbers[at + 4] = r.completionTokens
    numbers[at + 5] = r.cachedTokens
    numbers[at + 6] = r.reasoningTokens
    numbers[at + 7] = r.costUsd
    numbers[at + 8] = r.latencyMs
    const s = i * STRINGS
    refs[s] = ref(r.keyId)
    refs[s + 1] = ref(r.team)
    refs[s + 2] = ref(r.scope)
    refs[s + 3] = ref(r.task)
    refs[s + 4] = ref(r.requestedModel)
    refs[s + 5] = ref(r.model)
    refs[s + 6] = ref(r.provider)
    cacheHit[i] = r.cacheHit ? 1 : 0
    if ("body" in r) (bodies ??= new Array(n))[i] = r.body
  }
  return bodies === undefined ? { n, numbers, refs, strings, cacheHit } : { n, numbers, refs, strings, cacheHit, bodies }
}

/** The buffers `postMessage` can move instead of copying. */
export const transferables = (c: LedgerColumns): Array<ArrayBuffer> => [c.numbers.buffer, c.refs.buffer, c.cacheHit.buffer] as Array<ArrayBuffer>

export const decodeRows = (c: LedgerColumns): Array<LedgerRow> => {
  const rows: Array<LedgerRow> = new Array(c.n)
  const { numbers, refs, strings } = c
  const str = (i: number): string | null => (i === 0 ? null : strings[i])
  for (let i = 0; i < c.n; i++) {
    const at = i * WIDTH
    const s = i * STRINGS
    const row: { -readonly [K in keyof LedgerRow]: LedgerRow[K] } = {
      at: numbers[at],
      keyId: str(refs[s]),
      team: str(refs[s + 1]),
      scope: strings[refs[s + 2]],
      task: strings[refs[s + 3]],
      requestedModel: str(refs[s + 4]),
      model: strings[refs[s + 5]],
      provider: strings[refs[s + 6]],
      attempts: numbers[at + 1],
      status: numbers[at + 2],
      promptTokens: numbers[at + 3],
      completionTokens: numbers[at + 4],
      cachedTokens: numbers[at + 5],
      reasoningTokens: numbers[at + 6],
      costUsd: numbers[at + 7],
      latencyMs: numbers[at + 8],
      cacheHit: c.cacheHit[i] === 1
    }
    if (c.bodies !== undefined && i in c.bodies) row.body = c.bodies[i]
    rows[i] = row
  }
  return rows
}
