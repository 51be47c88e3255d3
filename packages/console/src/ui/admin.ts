/**
 * What Usage and Keys share, over the admin API (`/admin/v1/…`, notes/http-api.md "admin API").
 * Both need an admin key (`server.adminKeys`), asked for separately and kept in session storage
 * like the gateway key. A gateway without the admin API answers 404: the app then hides both views.
 */
import { ApiError, getJson, session } from "./api.ts"
import { field, h, replace } from "./dom.ts"

/** Whether the gateway has an admin API at all (404 = no; 401/403/200 = yes). */
export const adminApiExists = async (): Promise<boolean> => {
  try {
    const res = await fetch("/admin/v1/keys", { method: "GET", credentials: "omit", cache: "no-store" })
    return res.status !== 404
  } catch {
    return false
  }
}

/** Asks for the admin key when there is none yet (or it was refused), then runs `then`. */
export const withAdminKey = (root: HTMLElement, then: () => void, message?: string) => {
  if (session.adminKey() !== null && message === undefined) return then()
  const input = h("input", { type: "password", name: "admin_key", autocomplete: "off", required: true })
  const form = h(
    "form",
    { class: "login" },
    h("h1", {}, "Admin key"),
    message === undefined ? null : h("p", { class: "error", role: "alert" }, message),
    h("p", {}, "Usage and keys need an admin key (server.adminKeys). It is kept in this tab's session storage only."),
    field("Admin key", input),
    h("button", { type: "submit", class: "primary" }, "Continue")
  )
  form.addEventListener("submit", (e) => {
    e.preventDefault()
    session.setAdminKey(input.value.trim())
    then()
  })
  replace(root, form)
  input.focus()
}

/** A refused admin key asks again; any other failure is a message in the view. */
export const adminError = (root: HTMLElement, retry: () => void) => (e: unknown) => {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
    withAdminKey(root, retry, `The gateway did not accept this admin key (${e.status} ${e.code}).`)
  } else {
    root.append(h("p", { class: "error", role: "alert" }, `Failed: ${(e as Error).message}`))
  }
}

/** A key as `GET /admin/v1/keys` lists it (`{ object: "list", data: [...] }`). */
export interface KeyRecord {
  readonly id: string
  readonly name: string
  readonly team: string | null
  readonly prefix: string
  readonly models: ReadonlyArray<string> | null
  readonly tasks: ReadonlyArray<string> | null
  readonly rpm: number | null
  readonly tpm: number | null
  readonly budgetUsd: number | null
  readonly budgetPeriod: "day" | "month" | "total" | null
  readonly expiresAt: string | null
  readonly createdAt: string | null
  readonly revokedAt: string | null
  readonly status: "active" | "revoked" | "expired"
}

export interface TeamRecord {
  readonly id: string
  readonly budgetUsd: number | null
  readonly budgetPeriod: string | null
}

interface List<T> {
  readonly data: ReadonlyArray<T>
}

export const listKeys = () => getJson<List<KeyRecord>>("/admin/v1/keys", { admin: true }).then((l) => l.data)
export const listTeams = () => getJson<List<TeamRecord>>("/admin/v1/teams", { admin: true }).then((l) => l.data)
