/**
 * Hand-written readers for request bodies. The model endpoints are the hot path: a reader is a
 * few type checks per field, and a violation names the field (`messages[1].content`) the way
 * OpenAI's API does.
 *
 * A request is read through one `Reader`, which records the first violation and never throws:
 * a field that fails reads as a neutral value of its type (`""`, an empty object, `undefined`)
 * so the reader carries on without special cases, and `done(value)` answers the value, or the
 * 400 naming the first violation. Reading stops early only where what follows would be
 * meaningless (a body that is not an object, messages that are not an array). The answer is the
 * first violation in reading order: a 400 does not depend on how far the reader went after it.
 */
import { ApiError, invalidRequest } from "../HttpError.ts"

export type Body = Record<string, unknown>

const typeName = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : `a ${typeof u}`

export const isObject = (u: unknown): u is Body => typeof u === "object" && u !== null && !Array.isArray(u)

/** What `object` reads for a value that is not one: no fields, no prototype (no `constructor`). */
const NO_FIELDS: Body = Object.freeze(Object.create(null))

export const strategies = ["cost", "performance", "balanced"] as const
export type Strategy = typeof strategies[number]

export interface NumberRange {
  readonly min?: number
  readonly max?: number
  readonly int?: boolean
  readonly exclusiveMin?: boolean
}

export class Reader {
  private param: string | undefined = undefined
  private message: string | undefined = undefined

  /** True once a violation is recorded. */
  get failed(): boolean {
    return this.message !== undefined
  }

  /** Records a violation (the first one wins) and reads as `undefined`. */
  fail(param: string | undefined, message: string): undefined {
    if (this.message === undefined) {
      this.param = param
      this.message = message
    }
    return undefined
  }

  /** The first violation as a 400 `invalid_request` naming the field. Call only when `failed`. */
  error(): ApiError {
    return invalidRequest(this.message ?? "invalid request", this.param)
  }

  /** The reader's answer: `value`, or the 400 of the first violation. */
  done<A>(value: A): A | ApiError {
    return this.message === undefined ? value : invalidRequest(this.message, this.param)
  }

  object(u: unknown, param?: string): Body {
    if (isObject(u)) return u
    this.fail(
      param,
      param === undefined ? `the request body must be a JSON object, got ${typeName(u)}` : `'${param}' must be an object, got ${typeName(u)}`
    )
    return NO_FIELDS
  }

  /** `undefined` and `null` are both "not given", as OpenAI's API treats them. */
  optString(body: Body, key: string, param = key): string | undefined {
    const v = body[key]
    if (v === undefined || v === null) return undefined
    if (typeof v === "string") return v
    return this.fail(param, `'${param}' must be a string, got ${typeName(v)}`)
  }

  /** A required string; `""` when missing or not a string. */
  string(body: Body, key: string, param = key): string {
    const v = body[key]
    if (typeof v === "string") return v
    if (v === undefined || v === null) this.fail(param, `'${param}' is required`)
    else this.fail(param, `'${param}' must be a string, got ${typeName(v)}`)
    return ""
  }

  optBoolean(body: Body, key: string, param = key): boolean | undefined {
    const v = body[key]
    if (v === undefined || v === null) return undefined
    if (typeof v === "boolean") return v
    return this.fail(param, `'${param}' must be a boolean, got ${typeName(v)}`)
  }

  optNumber(body: Body, key: string, range: NumberRange, param = key): number | undefined {
    const v = body[key]
    if (v === undefined || v === null) return undefined
    if (typeof v !== "number" || !Number.isFinite(v)) return this.fail(param, `'${param}' must be a number, got ${typeName(v)}`)
    if (range.int === true && !Number.isInteger(v)) return this.fail(param, `'${param}' must be an integer`)
    if (range.min !== undefined && (range.exclusiveMin ? v <= range.min : v < range.min)) {
      return this.fail(param, `'${param}' must be ${range.exclusiveMin ? "greater than" : "at least"} ${range.min}`)
    }
    if (range.max !== undefined && v > range.max) return this.fail(param, `'${param}' must be at most ${range.max}`)
    return v
  }

  optPositiveInt(body: Body, key: string, param = key): number | undefined {
    return this.optNumber(body, key, POSITIVE_INT, param)
  }

  /** `stop`: a string or up to 4 strings. */
  optStop(body: Body, key = "stop"): ReadonlyArray<string> | undefined {
    const v = body[key]
    if (v === undefined || v === null) return undefined
    if (typeof v === "string") return [v]
    if (!Array.isArray(v)) return this.fail(key, `'${key}' must be a string or an array of strings`)
    if (v.length > 4) return this.fail(key, `'${key}' takes at most 4 sequences`)
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== "string") return this.fail(`${key}[${i}]`, `'${key}[${i}]' must be a string`)
    }
    return v as ReadonlyArray<string>
  }

  strategy(value: string | undefined, param: string): Strategy | undefined {
    if (value === undefined || value === "") return undefined
    if ((strategies as ReadonlyArray<string>).includes(value)) return value as Strategy
    return this.fail(param, `'${param}' must be one of ${strategies.join(", ")}, got "${value}"`)
  }
}

const POSITIVE_INT: NumberRange = { min: 0, exclusiveMin: true, int: true }

export const isApiError = (u: unknown): u is ApiError => u instanceof ApiError
