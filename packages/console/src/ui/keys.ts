/**
 * Keys: the virtual keys of `/admin/v1/keys` — list, create (the key is shown once, here only),
 * edit limits (`PATCH`), revoke (`DELETE`; the key gets 401 at once).
 */
import { adminError, type KeyRecord, listKeys, withAdminKey } from "./admin.ts"
import { request } from "./api.ts"
import { field, fmt, h, replace } from "./dom.ts"

const numOrNull = (v: string) => (v.trim() === "" ? null : Number(v))

const json = (method: string, body: unknown) =>
  ({ admin: true, method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) as const

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

    const refresh = (): Promise<void> =>
      listKeys().then((keys) => {
        replace(
          list,
          keys.length === 0 ? h("p", { class: "muted" }, "No keys yet.") : h(
            "table",
            {},
            h("thead", {}, h("tr", {}, ["Name", "Key", "Team", "Models", "Limits", "Budget", "Created", "Status", ""].map((c) => h("th", { scope: "col" }, c)))),
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
        const v = numOrNull(el.value)
        if (v !== null) body[k] = v
      }
      if (body.budgetUsd !== undefined) body.budgetPeriod = period.value
      if (expires.value !== "") body.expiresAt = new Date(expires.value).toISOString()
      request("/admin/v1/keys", json("POST", body))
        .then((r) => r.json() as Promise<KeyRecord & { readonly key: string }>)
        .then((k) => {
          const secret = h("code", { id: "new-key" }, k.key)
          const copy = h("button", { type: "button" }, "Copy")
          copy.addEventListener("click", () => void navigator.clipboard?.writeText(k.key).then(() => (copy.textContent = "Copied")))
          replace(
            created,
            h(
              "div",
              { class: "panel notice", role: "status" },
              h("p", {}, h("b", {}, `Key “${k.name}” created. `), "Copy it now: it is shown only once."),
              h("p", {}, secret, " ", copy)
            )
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

const limitsOf = (k: KeyRecord) =>
  [k.rpm === null ? null : `${k.rpm} rpm`, k.tpm === null ? null : `${k.tpm} tpm`].filter((x) => x !== null).join(" · ") || "–"

const keyRow = (k: KeyRecord, refresh: () => Promise<void>, root: HTMLElement) => {
  const usable = k.status === "active"
  const revoke = h("button", { type: "button", class: "danger", disabled: !usable, "aria-label": `Revoke ${k.name}` }, "Revoke")
  revoke.addEventListener("click", () => {
    if (!confirm(`Revoke the key “${k.name}”? Requests with it will get 401 at once.`)) return
    request(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { admin: true, method: "DELETE" }).then(refresh, adminError(root, refresh))
  })
  const edit = h("button", { type: "button", disabled: !usable, "aria-label": `Edit limits of ${k.name}` }, "Edit limits")
  edit.addEventListener("click", () => {
    const rpm = h("input", { type: "number", min: 1, value: k.rpm ?? "" })
    const tpm = h("input", { type: "number", min: 1, value: k.tpm ?? "" })
    const budget = h("input", { type: "number", min: 0, step: "any", value: k.budgetUsd ?? "" })
    const period = h("select", {}, ["month", "day", "total"].map((p) => h("option", { value: p, selected: p === (k.budgetPeriod ?? "month") }, p)))
    const dialog = h(
      "dialog",
      { "aria-label": `Limits of ${k.name}` },
      h(
        "form",
        { method: "dialog" },
        h("h2", {}, `Limits of ${k.name}`),
        field("rpm", rpm, "Empty: no limit"),
        field("tpm", tpm),
        field("Budget (USD)", budget),
        field("Budget period", period),
        h("div", { class: "actions" }, h("button", { value: "save", class: "primary" }, "Save"), h("button", { value: "cancel" }, "Cancel"))
      )
    )
    dialog.addEventListener("close", () => {
      dialog.remove()
      if (dialog.returnValue !== "save") return
      const budgetUsd = numOrNull(budget.value)
      const patch = { rpm: numOrNull(rpm.value), tpm: numOrNull(tpm.value), budgetUsd, ...(budgetUsd === null ? {} : { budgetPeriod: period.value }) }
      request(`/admin/v1/keys/${encodeURIComponent(k.id)}`, json("PATCH", patch)).then(refresh, adminError(root, refresh))
    })
    document.body.append(dialog)
    dialog.showModal()
  })
  return h(
    "tr",
    { "data-key-id": k.id },
    h("th", { scope: "row" }, k.name),
    h("td", {}, h("code", {}, `${k.prefix}…`)),
    h("td", {}, k.team ?? "–"),
    h("td", {}, k.models === null || k.models.length === 0 ? "all" : k.models.join(", ")),
    h("td", { class: "key-limits" }, limitsOf(k)),
    h("td", {}, k.budgetUsd === null ? "–" : `${fmt.usd(k.budgetUsd)} / ${k.budgetPeriod ?? "total"}`),
    h("td", {}, k.createdAt === null ? "–" : k.createdAt.slice(0, 16).replace("T", " ")),
    h("td", { class: "key-status" }, h("span", { class: `badge ${usable ? "ok" : "bad"}` }, k.status)),
    h("td", { class: "actions" }, edit, revoke)
  )
}
