/**
 * A bound on how deeply caller JSON may nest. Code that recurses over a value (canonical JSON
 * for the cache key, `JSON.stringify` in the provider SDKs, llama.cpp's grammar builder) would
 * otherwise turn a few thousand levels of `{"properties":{…}}` into a stack overflow — a 500
 * and a crashed request instead of a 400. The server checks every JSON body it reads, and
 * `LLMManager` checks a library caller's `responseFormat.schema`, both with this one walk.
 */

/**
 * Containers (objects, arrays) deep, counting the outermost as 1. Real JSON Schemas stay far
 * below it (OpenAI's structured outputs accept 10 levels of object nesting, about 20 here), and
 * recursive code stays far from Node's stack limit (~10,000 frames).
 */
export const MAX_JSON_DEPTH = 64

/** A path segment: an object key or an array index. */
export type JsonPathSegment = string | number

interface Frame {
  readonly value: object
  readonly depth: number
  readonly key: JsonPathSegment | undefined
  readonly parent: Frame | undefined
}

/**
 * The path of the first container nested deeper than `maxDepth`, or `undefined`. Iterative
 * (an explicit stack): it must not overflow on exactly the input it guards against.
 */
export const findTooDeep = (value: unknown, maxDepth = MAX_JSON_DEPTH): ReadonlyArray<JsonPathSegment> | undefined => {
  if (value === null || typeof value !== "object") return undefined
  // Every body goes through here: first a walk that allocates nothing (its recursion stops at
  // `maxDepth` + 1 frames, far from the stack's limit); only a body that is too deep pays for the
  // walk below, which keeps a path to name the field.
  if (!deeperThan(value, 1, maxDepth)) return undefined
  const stack: Array<Frame> = [{ value, depth: 1, key: undefined, parent: undefined }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    if (frame.depth > maxDepth) return pathOf(frame)
    const v = frame.value
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const child = v[i]
        if (child !== null && typeof child === "object") stack.push({ value: child, depth: frame.depth + 1, key: i, parent: frame })
      }
    } else {
      const keys = Object.keys(v)
      for (let i = keys.length - 1; i >= 0; i--) {
        const child = (v as Record<string, unknown>)[keys[i]]
        if (child !== null && typeof child === "object") stack.push({ value: child, depth: frame.depth + 1, key: keys[i], parent: frame })
      }
    }
  }
  return undefined
}

/** Whether a container under `value` (itself at `depth`) lies deeper than `maxDepth`. */
const deeperThan = (value: object, depth: number, maxDepth: number): boolean => {
  if (depth > maxDepth) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i]
      if (child !== null && typeof child === "object" && deeperThan(child, depth + 1, maxDepth)) return true
    }
    return false
  }
  const keys = Object.keys(value)
  for (let i = 0; i < keys.length; i++) {
    const child: unknown = (value as Record<string, unknown>)[keys[i]]
    if (child !== null && typeof child === "object" && deeperThan(child, depth + 1, maxDepth)) return true
  }
  return false
}

const pathOf = (frame: Frame): Array<JsonPathSegment> => {
  const out: Array<JsonPathSegment> = []
  for (let f: Frame | undefined = frame; f !== undefined && f.key !== undefined; f = f.parent) out.push(f.key)
  return out.reverse()
}

/** `response_format.json_schema.schema`, `messages[0].content`: the way errors name a field. */
export const formatJsonPath = (path: ReadonlyArray<JsonPathSegment>, prefix = ""): string => {
  let out = prefix
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : out.length === 0 ? segment : `.${segment}`
  }
  return out
}

/** How many leading segments name "the field" in an error: deep paths go on for thousands. */
const FIELD_SEGMENTS = 3

/**
 * The field to name for a too-deep value (its first three segments: `response_format.json_schema.schema`)
 * and a message showing where the nesting goes on.
 */
export const tooDeepError = (
  path: ReadonlyArray<JsonPathSegment>,
  maxDepth = MAX_JSON_DEPTH,
  prefix = ""
): { readonly param: string; readonly message: string } => {
  const param = formatJsonPath(path.slice(0, FIELD_SEGMENTS), prefix) || "body"
  const shown = formatJsonPath(path.slice(0, FIELD_SEGMENTS + 4), prefix)
  return {
    param,
    message: `'${param}' nests JSON more than ${maxDepth} levels deep (at ${shown}${path.length > FIELD_SEGMENTS + 4 ? "…" : ""})`
  }
}
