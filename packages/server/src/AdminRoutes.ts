/**
 * The admin API under `/admin/v1/`, for a caller with an admin key (`server.adminKeys`, Bearer):
 * - `POST /admin/v1/keys` `{ name, team?, models?, tasks?, rpm?, tpm?, budgetUsd?, budgetPeriod?,
 *   expiresAt? }` → 201 `{ id, key, … }` (the key is shown only here); `GET /admin/v1/keys`;
 *   `GET` / `PATCH` / `DELETE /admin/v1/keys/{id}` (delete revokes); `POST /admin/v1/keys/{id}/rotate`;
 * - `POST /admin/v1/teams` `{ name, budgetUsd?, budgetPeriod? }`, `GET /admin/v1/teams`,
 *   `GET` / `PATCH` / `DELETE /admin/v1/teams/{id}`;
 * - `GET /admin/v1/usage?key={id}|team={id}&from=&to=&groupBy=model|task|key|team` (ISO-8601;
 *   default the last 30 days, per model) → `{ totals: { requests, promptTokens, completionTokens,
 *   costUsd }, rows: [per group, each naming it: { model, provider } | { task } | { key } | { team }] }`;
 * - `GET /admin/v1/audit`: every admin action.
 * A revoke or update takes effect at once on this instance (its key cache is dropped) and within
 * a second on the others (they re-verify keys every 500 ms).
 */
import type { KeyInput, KeyRecord, Limits, TeamRecord } from "@llm-gateway/storage/KeyStore"
import { type UsageGroup, usageGroups } from "@llm-gateway/storage/UsageLedger"
import { Effect, Option } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import { ApiError } from "./HttpError.ts"
import { authenticated, type Handled, jsonRoute, type RouteOptions, type ServerContext } from "./internal/context.ts"
import { jsonText } from "./internal/http.ts"

type Request = HttpServerRequest.HttpServerRequest

const invalid = (message: string, param?: string) =>
  new ApiError({ status: 400, type: "InvalidRequest", code: "invalid_request", message, param })

const notFound = (what: string, id: string) =>
  new ApiError({ status: 404, type: "InvalidRequest", code: "not_found", message: `${what} ${JSON.stringify(id)} not found` })

/** Admin keys only: the caller's scope names the actor in the audit log. */
const adminOnly: RouteOptions = { adminOnly: true }

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const keyJson = (k: KeyRecord) => ({
  id: k.id,
  object: "key",
  name: k.name,
  team: k.team,
  prefix: k.prefix,
  models: k.models,
  tasks: k.tasks,
  rpm: k.rpm,
  tpm: k.tpm,
  budgetUsd: k.budgetUsd,
  budgetPeriod: k.budgetPeriod,
  expiresAt: iso(k.expiresAt),
  createdAt: iso(k.createdAt),
  revokedAt: iso(k.revokedAt),
  status: k.revokedAt !== null ? "revoked" : k.expiresAt !== null && k.expiresAt <= Date.now() ? "expired" : "active"
})

const teamJson = (t: TeamRecord) => ({
  id: t.id,
  object: "team",
  budgetUsd: t.budgetUsd,
  budgetPeriod: t.budgetPeriod,
  createdAt: iso(t.createdAt)
})

const json = (body: unknown, status = 200) => jsonText(JSON.stringify(body), status)

// --- body validation (hand-written: a handful of fields, each with its own message) ---

type Body = Record<string, unknown>

const isBody = (u: unknown): u is Body => typeof u === "object" && u !== null && !Array.isArray(u)

const readLimits = (b: Body): Limits | ApiError => {
  const out: Record<string, unknown> = {}
  for (const f of ["models", "tasks"] as const) {
    const v = b[f]
    if (v === undefined) continue
    if (v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === ""))) return invalid(`${f} must be a list of strings`, f)
    out[f] = v
  }
  for (const f of ["rpm", "tpm"] as const) {
    const v = b[f]
    if (v === undefined) continue
    if (v !== null && (typeof v !== "number" || !Number.isInteger(v) || v <= 0)) return invalid(`${f} must be a positive integer`, f)
    out[f] = v
  }
  if (b.budgetUsd !== undefined) {
    if (b.budgetUsd !== null && (typeof b.budgetUsd !== "number" || !Number.isFinite(b.budgetUsd) || b.budgetUsd < 0)) {
      return invalid("budgetUsd must be a non-negative number", "budgetUsd")
    }
    out.budgetUsd = b.budgetUsd
  }
  if (b.budgetPeriod !== undefined) {
    if (b.budgetPeriod !== "day" && b.budgetPeriod !== "month" && b.budgetPeriod !== "total") {
      return invalid(`budgetPeriod must be "day", "month" or "total"`, "budgetPeriod")
    }
    out.budgetPeriod = b.budgetPeriod
  }
  if (b.expiresAt !== undefined) {
    const ms = b.expiresAt === null ? null : typeof b.expiresAt === "string" ? Date.parse(b.expiresAt) : NaN
    if (ms !== null && Number.isNaN(ms)) return invalid("expiresAt must be an ISO-8601 time", "expiresAt")
    out.expiresAt = ms
  }
  return out as Limits
}

const readName = (b: Body, field = "name"): string | ApiError =>
  typeof b[field] === "string" && (b[field] as string).trim() !== "" && (b[field] as string).length <= 200
    ? (b[field] as string).trim()
    : invalid(`${field} is required (a non-empty string)`, field)

const readTeam = (b: Body): string | null | undefined | ApiError =>
  b.team === undefined || b.team === null ? b.team as null | undefined : typeof b.team === "string" && b.team !== "" ? b.team : invalid("team must be a string", "team")

const notAnObject = invalid("the body must be a JSON object")

const readKeyInput = (u: unknown): KeyInput | ApiError => {
  if (!isBody(u)) return notAnObject
  const name = readName(u)
  if (name instanceof ApiError) return name
  const team = readTeam(u)
  if (team instanceof ApiError) return team
  const limits = readLimits(u)
  if (limits instanceof ApiError) return limits
  return { ...limits, name, team }
}

const readKeyUpdate = (u: unknown): Partial<KeyInput> | ApiError => {
  if (!isBody(u)) return notAnObject
  const limits = readLimits(u)
  if (limits instanceof ApiError) return limits
  const team = readTeam(u)
  if (team instanceof ApiError) return team
  const name = u.name === undefined ? undefined : readName(u)
  if (name instanceof ApiError) return name
  return { ...limits, team, name }
}

const readTeamInput = (u: unknown): { readonly name: string; readonly limits: Limits } | ApiError => {
  if (!isBody(u)) return notAnObject
  const name = readName(u)
  if (name instanceof ApiError) return name
  const limits = readLimits(u)
  return limits instanceof ApiError ? limits : { name, limits }
}

const readTeamUpdate = (u: unknown): Limits | ApiError => (isBody(u) ? readLimits(u) : notAnObject)

const param = (name: string) => Effect.map(HttpRouter.params, (p) => p[name] ?? "")

const orNotFound = <A>(what: string, id: string, found: Option.Option<A>) =>
  Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(notFound(what, id))

const DAY = 86_400_000

const readRange = (url: URL): { from: number; to: number } | ApiError => {
  const now = Date.now()
  const to = url.searchParams.get("to")
  const from = url.searchParams.get("from")
  // `to` is exclusive: "now" by default means up to and including this millisecond, so a call
  // recorded just before the query (the same millisecond) is counted
  const toMs = to === null ? now + 1 : Date.parse(to)
  if (Number.isNaN(toMs)) return invalid("to must be an ISO-8601 time", "to")
  const fromMs = from === null ? toMs - 30 * DAY : Date.parse(from)
  if (Number.isNaN(fromMs)) return invalid("from must be an ISO-8601 time", "from")
  return { from: fromMs, to: toMs }
}

export const routes = (ctx: ServerContext): ReadonlyArray<HttpRouter.Route<never, never>> => {
  const { keys, ledger } = ctx.governance
  const admin = (request: Request, f: (actor: string) => Handled<HttpRouter.RouteContext>) => authenticated(ctx, request, f, adminOnly)
  const adminBody = <A>(request: Request, read: (body: unknown) => A | ApiError, f: (input: A, actor: string) => Handled<HttpRouter.RouteContext>) =>
    jsonRoute(ctx, request, read, f, adminOnly)
  return [
    HttpRouter.route("POST", "/admin/v1/keys", (request) =>
      adminBody(request, readKeyInput, (input, actor) =>
        Effect.map(Effect.orDie(keys.create(input, actor)), (created) => json({ ...keyJson(created.record), key: created.key }, 201)))),
    HttpRouter.route("GET", "/admin/v1/keys", (request) =>
      admin(request, () => Effect.map(Effect.orDie(keys.list), (list) => json({ object: "list", data: list.map(keyJson) })))),
    HttpRouter.route("GET", "/admin/v1/keys/:id", (request) =>
      admin(request, () =>
        Effect.gen(function*() {
          const id = yield* param("id")
          return json(keyJson(yield* orNotFound("key", id, yield* Effect.orDie(keys.get(id)))))
        }))),
    HttpRouter.route("PATCH", "/admin/v1/keys/:id", (request) =>
      adminBody(request, readKeyUpdate, (update, actor) =>
        Effect.gen(function*() {
          const id = yield* param("id")
          const updated = yield* orNotFound("key", id, yield* Effect.orDie(keys.update(id, update, actor)))
          ctx.auth.forget(id)
          return json(keyJson(updated))
        }))),
    HttpRouter.route("DELETE", "/admin/v1/keys/:id", (request) =>
      admin(request, (actor) =>
        Effect.gen(function*() {
          const id = yield* param("id")
          const revoked = yield* orNotFound("key", id, yield* Effect.orDie(keys.revoke(id, actor)))
          ctx.auth.forget(id)
          return json({ ...keyJson(revoked), deleted: true })
        }))),
    HttpRouter.route("POST", "/admin/v1/keys/:id/rotate", (request) =>
      admin(request, (actor) =>
        Effect.gen(function*() {
          const id = yield* param("id")
          const rotated = yield* orNotFound("key", id, yield* Effect.orDie(keys.rotate(id, actor)))
          ctx.auth.forget(id)
          return json({ ...keyJson(rotated.record), key: rotated.key })
        }))),
    HttpRouter.route("POST", "/admin/v1/teams", (request) =>
      adminBody(request, readTeamInput, ({ name, limits }, actor) =>
        Effect.gen(function*() {
          if (Option.isSome(Option.filter(yield* Effect.orDie(keys.getTeam(name)), (t) => t.deletedAt === null))) {
            return yield* Effect.fail(new ApiError({ status: 409, type: "InvalidRequest", code: "conflict", message: `team ${JSON.stringify(name)} exists` }))
          }
          const team = yield* Effect.orDie(keys.createTeam({ name, budgetUsd: limits.budgetUsd, budgetPeriod: limits.budgetPeriod }, actor))
          return json(teamJson(team), 201)
        }))),
    HttpRouter.route("GET", "/admin/v1/teams", (request) =>
      admin(request, () => Effect.map(Effect.orDie(keys.listTeams), (list) => json({ object: "list", data: list.map(teamJson) })))),
    HttpRouter.route("GET", "/admin/v1/teams/:id", (request) =>
      admin(request, () =>
        Effect.gen(function*() {
          const id = yield* param("id")
          const team = Option.filter(yield* Effect.orDie(keys.getTeam(id)), (t) => t.deletedAt === null)
          return json(teamJson(yield* orNotFound("team", id, team)))
        }))),
    HttpRouter.route("PATCH", "/admin/v1/teams/:id", (request) =>
      adminBody(request, readTeamUpdate, (limits, actor) =>
        Effect.gen(function*() {
          const id = yield* param("id")
          const team = yield* orNotFound("team", id, yield* Effect.orDie(keys.updateTeam(id, limits, actor)))
          ctx.auth.forget("")
          return json(teamJson(team))
        }))),
    HttpRouter.route("DELETE", "/admin/v1/teams/:id", (request) =>
      admin(request, (actor) =>
        Effect.gen(function*() {
          const id = yield* param("id")
          const team = yield* orNotFound("team", id, yield* Effect.orDie(keys.deleteTeam(id, actor)))
          ctx.auth.forget("")
          return json({ ...teamJson(team), deleted: true })
        }))),
    HttpRouter.route("GET", "/admin/v1/usage", (request) =>
      admin(request, () =>
        Effect.gen(function*() {
          const url = new URL(request.url, "http://gateway")
          const range = readRange(url)
          if (range instanceof ApiError) return yield* Effect.fail(range)
          const keyId = url.searchParams.get("key") ?? undefined
          const team = url.searchParams.get("team") ?? undefined
          const groupBy = url.searchParams.get("groupBy") ?? "model"
          if (!usageGroups.includes(groupBy as UsageGroup)) {
            return yield* Effect.fail(invalid(`groupBy must be one of ${usageGroups.join(", ")}`, "groupBy"))
          }
          const report = yield* ledger.query({ keyId, team, ...range, groupBy: groupBy as UsageGroup })
          return json({ from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), key: keyId ?? null, team: team ?? null, groupBy, ...report })
        }))),
    HttpRouter.route("GET", "/admin/v1/audit", (request) =>
      admin(request, () =>
        Effect.map(Effect.orDie(keys.audit), (entries) =>
          json({ object: "list", data: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString(), detail: e.detail === null ? null : JSON.parse(e.detail) })) }))))
  ]
}
