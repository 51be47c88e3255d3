/**
 * The provider-neutral script every fake upstream answers from when a test wants more than a
 * plain text reply: a turn is what the model "says" — text, tool calls, reasoning — and each
 * fake encodes it in its own provider's wire format (JSON and streamed).
 *
 * A test either queues turns (`fake.script([{ toolCalls: [...] }, { text: "final" }])`, one
 * consumed per chat request) or installs a responder that sees the request and decides, so a
 * call → tool result → final answer round trip can assert what came back in the tool result.
 */

/** A tool call the fake model makes. */
export interface FakeToolCall {
  /** The call id (default: generated in the provider's style, `call_…`, `toolu_…`). */
  readonly id?: string
  readonly name: string
  /** The arguments: an object (serialised as JSON), or a raw JSON string sent verbatim. */
  readonly arguments: unknown
}

/** One model turn, in provider-neutral terms. */
export interface FakeTurn {
  readonly text?: string
  readonly toolCalls?: ReadonlyArray<FakeToolCall>
  /** Reasoning text: Anthropic `thinking`, Ollama `thinking`, OpenAI-wire `reasoning_content`. */
  readonly reasoning?: string
  /** Anthropic: the thinking block's signature (default: one the fake derives and later verifies). */
  readonly signature?: string
  /** Anthropic: a `redacted_thinking` block's opaque `data`, emitted before any thinking text. */
  readonly redactedThinking?: string
  /** Reasoning tokens to report (default: the fake's token count of `reasoning`). */
  readonly reasoningTokens?: number
}

/**
 * Decides the turn for a request: a `FakeTurn`, a plain string (the text), or `undefined` to
 * fall back to the fake's ordinary reply. `index` counts the chat requests answered so far.
 */
export type FakeResponder<Body> = (body: Body, index: number) => FakeTurn | string | undefined

/** The scripting surface every fake exposes. */
export interface FakeScripting<Body> {
  /** Queue turns, consumed one per chat request before the responder or the plain reply. */
  readonly script: (turns: ReadonlyArray<FakeTurn | string>) => void
  /** Answer every chat request the queue does not (replace with `undefined` to remove it). */
  readonly respond: (responder: FakeResponder<Body> | undefined) => void
  /** Scripted turns not consumed yet. */
  readonly pendingTurns: () => number
}

/** The queue behind `script` / `respond`; `next` returns `undefined` when neither has a turn. */
export const makeTurnSource = <Body>() => {
  const queue: Array<FakeTurn | string> = []
  let responder: FakeResponder<Body> | undefined
  let answered = 0
  const scripting: FakeScripting<Body> = {
    script: (turns) => void queue.push(...turns),
    respond: (r) => void (responder = r),
    pendingTurns: () => queue.length
  }
  const next = (body: Body): FakeTurn | undefined => {
    const index = answered++
    const raw = queue.length > 0 ? queue.shift() : responder?.(body, index)
    return typeof raw === "string" ? { text: raw } : raw
  }
  return { scripting, next }
}

/** True when the turn needs the rich encoder (tool calls or reasoning); text-only turns take the plain path. */
export const isRich = (turn: FakeTurn): boolean =>
  (turn.toolCalls?.length ?? 0) > 0 || turn.reasoning !== undefined || turn.redactedThinking !== undefined

/** The arguments as the JSON text a provider streams (a string is taken as JSON already). */
export const argumentsJson = (args: unknown): string => (typeof args === "string" ? args : JSON.stringify(args ?? {}))

/** The arguments as an object (Anthropic `input`, Ollama `arguments`); invalid JSON text becomes `{}`. */
export const argumentsObject = (args: unknown): Record<string, unknown> => {
  if (typeof args !== "string") return (args ?? {}) as Record<string, unknown>
  try {
    return JSON.parse(args) as Record<string, unknown>
  } catch {
    return {}
  }
}

/**
 * Splits JSON text into fragments of at most `size` characters, as providers stream tool-call
 * arguments (several deltas even for a short object, so a test sees fragments forwarded).
 */
export const fragments = (text: string, size = 8): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** A short deterministic id suffix (base36 of a counter plus a hash of the seed). */
export const fakeId = (prefix: string, seed: string, n: number): string => {
  let h = 2166136261
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619)
  return `${prefix}${(h >>> 0).toString(36)}${n.toString(36)}`
}
