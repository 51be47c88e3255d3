/**
 * Hand-written readers for request bodies. The model endpoints are the hot path: a reader is a
 * few type checks per field, and a violation names the field (`messages[1].content`) the way
 * OpenAI's API does. Readers throw `Invalid`; `decodeWith` turns that into a 400.
 */
import { ApiError, invalidRequest } from "../HttpError.ts"

export class Invalid {
  readonly param: string | undefined
  readonly message: string
  constructor(param: string | undefined, message: string) {
    this.param = param
    this.message = message
  }
}

export type Body = Record<string, unknown>

const typeName = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : `a ${typeof u}`

export const fail = (param: string | undefined, message: string): never => {
  throw new Invalid(param, message)
}

export const isObject = (u: unknown): u is Body => typeof u === "object" && u !== null && !Array.isArray(u)

export const object = (u: unknown, param?: string): Body => {
  if (!isObject(u)) {
    fail(param, param === undefined ? `the request body must be a JSON object, got ${typeName(u)}` : `'${param}' must be an object, got ${typeName(u)}`)
  }
  return u as Body
}

/** `undefined` and `null` are both "not given", as OpenAI's API treats them. */
export const optString = (body: Body, key: string, param = key): string | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "string") fail(param, `'${param}' must be a string, got ${typeName(v)}`)
  return v as string
}

export const string = (body: Body, key: string, param = key): string => {
  const v = optString(body, key, param)
  if (v === undefined) fail(param, `'${param}' is required`)
  return v as string
}

export const optBoolean = (body: Body, key: string, param = key): boolean | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "boolean") fail(param, `'${param}' must be a boolean, got ${typeName(v)}`)
  return v as boolean
}

export const optNumber = (
  body: Body,
  key: string,
  range: { readonly min?: number; readonly max?: number; readonly int?: boolean; readonly exclusiveMin?: boolean },
  param = key
): number | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "number" || !Number.isFinite(v)) return fail(param, `'${param}' must be a number, got ${typeName(v)}`)
  if (range.int === true && !Number.isInteger(v)) fail(param, `'${param}' must be an integer`)
  if (range.min !== undefined && (range.exclusiveMin ? v <= range.min : v < range.min)) {
    fail(param, `'${param}' must be ${range.exclusiveMin ? "greater than" : "at least"} ${range.min}`)
  }
  if (range.max !== undefined && v > range.max) fail(param, `'${param}' must be at most ${range.max}`)
  return v
}

export const optPositiveInt = (body: Body, key: string, param = key) =>
  optNumber(body, key, { min: 0, exclusiveMin: true, int: true }, param)

/** `stop`: a string or up to 4 strings. */
export const optStop = (body: Body, key = "stop"): ReadonlyArray<string> | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v === "string") return [v]
  if (!Array.isArray(v)) return fail(key, `'${key}' must be a string or an array of strings`)
  if (v.length > 4) fail(key, `'${key}' takes at most 4 sequences`)
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") fail(`${key}[${i}]`, `'${key}[${i}]' must be a string`)
  return v as ReadonlyArray<string>
}

export const strategies = ["cost", "performance", "balanced"] as const
export type Strategy = typeof strategies[number]

export const strategy = (value: string | undefined, param: string): Strategy | undefined => {
  if (value === undefined || value === "") return undefined
  if ((strategies as ReadonlyArray<string>).includes(value)) return value as Strategy
  return fail(param, `'${param}' must be one of ${strategies.join(", ")}, got "${value}"`)
}

/** Runs a reader; a violation becomes a 400 `invalid_request` naming the field. */
export const decodeWith = <A>(read: (body: unknown) => A, body: unknown): A | ApiError => {
  try {
    return read(body)
  } catch (e) {
    if (e instanceof Invalid) return invalidRequest(e.message, e.param)
    throw e
  }
}

export const isApiError = (u: unknown): u is ApiError => u instanceof ApiError
