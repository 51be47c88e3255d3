/**
 * Usage and Keys, over the admin API (`/admin/v1/usage`, `/admin/v1/keys`; the contract
 * in notes/http-api.md "Admin API"). They need an admin key (`server.adminKeys`), asked for separately and kept in
 * session storage like the gateway key. A gateway without the admin API answers 404: the app
 * then hides both views.
 */
import { ApiError, getJson, request, session } from "./api.ts"
import { bars } from "./charts.ts"
import { field, fmt, h, replace } from "./dom.ts"

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
const withAdminKey = (root: HTMLElement, then: () => void, message?: string) => {
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

const adminError = (root: HTMLElement, retry: () => void) => (e: unknown) => {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
    withAdminKey(root, retry, `The gateway did not accept this admin key (${e.status} ${e.code}).`)
  } else {
    root.append(h("p", { class: "error", role: "alert" }, `Failed: ${(e as Error).message}`))
  }
}

interface KeyRow {
  readonly id: string
  readonly name?: string
  readonly team?: string | null
  readonly models?: ReadonlyArray<string> | null
  readonly rpm?: number | null
  readonly tpm?: number | null
  readonly budgetUsd?: number | null
  readonly budgetPeriod?: string | null
  readonly expiresAt?: string | null
  readonly revokedAt?: string | null
  readonly [k: string]: unknown
}

const listOf = <T>(body: unknown): Array<T> =>
  Array.isArray(body) ? body : Array.isArray((body as { data?: unknown }).data) ? (body as { data: Array<T> }).data : Array.isArray((body as { keys?: unknown }).keys) ? (body as { keys: Array<T> }).keys : []

const numOrUndefined = (v: string) => (v.trim() === "" ? undefined : Number(v))

export const mountKeys = (root: HTMLElement): (() => void) => {
  const load = () => {
    const list = h("div", { class: "table-wrap" })
    const created = h("div", { "aria-live": "polite" })
    const name = h("input", { name: "name", required: true, autocomplete: "off" })
    const team = h("input", { name: "team", autocomplete: "off" })
    const models = h("input", { name: "models", autocomplete: "off", placeholder: "openai/*, local/*" })
    const rpm = h("input", { name: "rpm", type: "number", min: 1 })
    const tpm = h("input", { name: "tpm", type: "number", min: 1 })
    const budget = h("input", { name: "budgetUsd", type: "number", min: 0, step: "any" })
    const period = h("select", { name: "budgetPeriod" }, ["month", "day", "total"].map((p) => h("option", { value: p }, p)))
    const expires = h("input", { name: "expiresAt", type: "datetime-local" })
    const form = h(
      "form",
      { class: "panel", "aria-labelledby": "create-title" },
      h("h2", { id: "create-title" }, "Create a key"),
      h("div", { class: "row" }, field("Name", name), field("Team", team), field("Models", models, "Patterns, comma-separated; empty: every model")),
      h("div", { class: "row" }, field("rpm", rpm), field("tpm", tpm), field("Budget (USD)", budget), field("Budget period", period), field("Expires", expires)),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create key"))
    )
    replace(root, h("h1", {}, "Keys"), created, form, h("h2", {}, "Keys"), list)

    const refresh = () =>
      getJson<unknown>("/admin/v1/keys", { admin: true }).then((body) => {
        const keys = listOf<KeyRow>(body)
        replace(
          list,
          keys.length === 0 ? h("p", { class: "muted" }, "No keys yet.") : h(
            "table",
            {},
            h("thead", {}, h("tr", {}, ["Name", "Team", "Models", "Limits", "Budget", "Status", ""].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, keys.map((k) => keyRow(k, refresh, root)))
          )
        )
      }, adminError(root, load))

    form.addEventListener("submit", (e) => {
      e.preventDefault()
      const body: Record<string, unknown> = { name: name.value.trim() }
      if (team.value.trim() !== "") body.team = team.value.trim()
      const patterns = models.value.split(",").map((s) => s.trim()).filter((s) => s !== "")
      if (patterns.length > 0) body.models = patterns
      for (const [k, el] of [["rpm", rpm], ["tpm", tpm], ["budgetUsd", budget]] as const) {
        const v = numOrUndefined(el.value)
        if (v !== undefined) body[k] = v
      }
      if (body.budgetUsd !== undefined) body.budgetPeriod = period.value
      if (expires.value !== "") body.expiresAt = new Date(expires.value).toISOString()
      request("/admin/v1/keys", { admin: true, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
        .then((r) => r.json() as Promise<{ id: string; key: string }>)
        .then((k) => {
          const secret = h("code", { id: "new-key" }, k.key)
          const copy = h("button", { type: "button" }, "Copy")
          copy.addEventListener("click", () => void navigator.clipboard?.writeText(k.key).then(() => (copy.textContent = "Copied")))
          replace(
            created,
            h("div", { class: "panel notice", role: "status" }, h("p", {}, h("b", {}, `Key “${body.name}” created. `), "Copy it now: it is shown only once."), h("p", {}, secret, " ", copy))
          )
          form.reset()
          return refresh()
        }, adminError(root, load))
    })
    void refresh()
  }
  withAdminKey(root, load)
  return () => {}
}

const keyRow = (k: KeyRow, refresh: () => Promise<void>, root: HTMLElement) => {
  const revoked = k.revokedAt !== undefined && k.revokedAt !== null || k.status === "revoked"
  const revoke = h("button", { type: "button", class: "danger", disabled: revoked, "aria-label": `Revoke ${k.name ?? k.id}` }, "Revoke")
  revoke.addEventListener("click", () => {
    if (!confirm(`Revoke the key “${k.name ?? k.id}”? Requests with it will get 401 at once.`)) return
    request(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { admin: true, method: "DELETE" }).then(refresh, adminError(root, refresh))
  })
  const edit = h("button", { type: "button", disabled: revoked, "aria-label": `Edit limits of ${k.name ?? k.id}` }, "Edit limits")
  edit.addEventListener("click", () => {
    const rpm = h("input", { type: "number", min: 1, value: k.rpm ?? "" })
    const tpm = h("input", { type: "number", min: 1, value: k.tpm ?? "" })
    const budget = h("input", { type: "number", min: 0, step: "any", value: k.budgetUsd ?? "" })
    const dialog = h(
      "dialog",
      { "aria-label": `Limits of ${k.name ?? k.id}` },
      h(
        "form",
        { method: "dialog" },
        h("h2", {}, `Limits of ${k.name ?? k.id}`),
        field("rpm", rpm),
        field("tpm", tpm),
        field("Budget (USD)", budget),
        h("div", { class: "actions" }, h("button", { value: "save", class: "primary" }, "Save"), h("button", { value: "cancel" }, "Cancel"))
      )
    )
    dialog.addEventListener("close", () => {
      dialog.remove()
      if (dialog.returnValue !== "save") return
      const patch = { rpm: numOrUndefined(rpm.value) ?? null, tpm: numOrUndefined(tpm.value) ?? null, budgetUsd: numOrUndefined(budget.value) ?? null }
      request(`/admin/v1/keys/${encodeURIComponent(k.id)}`, {
        admin: true, method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(patch)
      }).then(refresh, adminError(root, refresh))
    })
    document.body.append(dialog)
    dialog.showModal()
  })
  return h(
    "tr",
    { "data-key-id": k.id },
    h("th", { scope: "row" }, k.name ?? k.id),
    h("td", {}, k.team ?? "–"),
    h("td", {}, k.models === undefined || k.models === null || k.models.length === 0 ? "all" : k.models.join(", ")),
    h("td", {}, [k.rpm == null ? null : `${k.rpm} rpm`, k.tpm == null ? null : `${k.tpm} tpm`].filter((x) => x !== null).join(" · ") || "–"),
    h("td", {}, k.budgetUsd == null ? "–" : `${fmt.usd(k.budgetUsd)} / ${k.budgetPeriod ?? "total"}`),
    h("td", { class: "key-status" }, revoked ? "revoked" : k.expiresAt != null && Date.parse(k.expiresAt) < Date.now() ? "expired" : "active"),
    h("td", { class: "actions" }, edit, revoke)
  )
}

interface UsageBody {
  readonly totals: { readonly requests: number; readonly promptTokens: number; readonly completionTokens: number; readonly costUsd: number }
  readonly rows: ReadonlyArray<Record<string, unknown>>
}

const toCsv = (rows: ReadonlyArray<Record<string, unknown>>): string => {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, "\"\"")}"` : s
  }
  return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n"
}

const isoLocal = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)

export const mountUsage = (root: HTMLElement): (() => void) => {
  const load = () => {
    const key = h("select", { name: "key" }, h("option", { value: "" }, "every key"))
    const from = h("input", { type: "datetime-local", name: "from", value: isoLocal(new Date(Date.now() - 30 * 86_400_000)) })
    const to = h("input", { type: "datetime-local", name: "to", value: isoLocal(new Date()) })
    const out = h("div", {})
    const form = h(
      "form",
      { class: "panel", "aria-label": "Range" },
      h("div", { class: "row" }, field("Key", key), field("From", from), field("To", to)),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Show"))
    )
    replace(root, h("h1", {}, "Usage"), form, out)
    void getJson<unknown>("/admin/v1/keys", { admin: true }).then((b) => {
      for (const k of listOf<KeyRow>(b)) key.append(h("option", { value: k.id }, k.name ?? k.id))
    }, () => {})
    const show = () => {
      const q = new URLSearchParams()
      if (key.value !== "") q.set("key", key.value)
      if (from.value !== "") q.set("from", new Date(from.value).toISOString())
      if (to.value !== "") q.set("to", new Date(to.value).toISOString())
      getJson<UsageBody>(`/admin/v1/usage?${q}`, { admin: true }).then((u) => {
        const rows = u.rows ?? []
        const label = (r: Record<string, unknown>) => String(r.model ?? r.key ?? r.team ?? r.task ?? "?")
        const csv = h("a", {
          class: "button",
          href: URL.createObjectURL(new Blob([toCsv(rows)], { type: "text/csv" })),
          download: "llm-gateway-usage.csv"
        }, "Export CSV")
        const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))]
        replace(
          out,
          h(
            "div",
            { class: "tiles" },
            tile("Requests", fmt.int(u.totals.requests)),
            tile("Prompt tokens", fmt.int(u.totals.promptTokens)),
            tile("Completion tokens", fmt.int(u.totals.completionTokens)),
            tile("Spend", fmt.usd(u.totals.costUsd))
          ),
          h("h2", {}, "Spend per model"),
          bars(rows.map((r) => ({ label: label(r), value: Number(r.costUsd ?? 0) })), "Spend per model", fmt.usd),
          h("h2", {}, "Tokens per model"),
          bars(rows.map((r) => ({ label: label(r), value: Number(r.promptTokens ?? 0) + Number(r.completionTokens ?? 0) })), "Tokens per model", fmt.int),
          h("div", { class: "actions" }, csv),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              {},
              h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
              h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", {}, typeof r[c] === "number" && c === "costUsd" ? fmt.usd(r[c] as number) : String(r[c] ?? ""))))))
            )
          )
        )
      }, adminError(root, load))
    }
    form.addEventListener("submit", (e) => {
      e.preventDefault()
      show()
    })
    show()
  }
  withAdminKey(root, load)
  return () => {}
}

const tile = (label: string, value: string) => h("div", { class: "tile" }, h("span", {}, label), h("strong", {}, value))
