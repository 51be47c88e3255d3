/**
 * Usage: spend and tokens over a chosen range from `GET /admin/v1/usage` (the usage ledger),
 * grouped per model, task, key or team, as bar charts and a table, exportable as CSV.
 *
 * One call whatever the grouping: the API groups (`groupBy=`) within one optional filter
 * (`key=` or `team=`). What no virtual key made (static and admin keys) is its own row, key
 * `null`, so the table adds up; so are refused and failed requests per model (no model).
 */
import { adminError, type KeyRecord, listKeys, withAdminKey } from "./admin.ts"
import { getJson } from "./api.ts"
import { bars } from "./charts.ts"
import { field, fmt, h, replace } from "./dom.ts"

interface Totals {
  readonly requests: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd: number
}

interface UsageBody {
  readonly from: string
  readonly to: string
  readonly totals: Totals
  readonly rows: ReadonlyArray<
    Totals & { readonly model?: string; readonly provider?: string; readonly task?: string; readonly key?: string | null; readonly team?: string | null }
  >
}

type GroupBy = "model" | "task" | "key" | "team"

interface Row extends Totals {
  readonly label: string
}

const usage = (range: URLSearchParams, filter: Record<string, string> = {}) => {
  const q = new URLSearchParams(range)
  for (const [k, v] of Object.entries(filter)) q.set(k, v)
  return getJson<UsageBody>(`/admin/v1/usage?${q}`, { admin: true })
}

/** The rows of one grouping; `filter` narrows to one key or one team (`key:<id>` / `team:<name>`). */
const grouped = async (by: GroupBy, range: URLSearchParams, filter: string, keys: ReadonlyArray<KeyRecord>): Promise<{ totals: Totals; rows: Array<Row> }> => {
  const [kind, id] = filter === "" ? ["", ""] : [filter.slice(0, filter.indexOf(":")), filter.slice(filter.indexOf(":") + 1)]
  const u = await usage(range, { ...(kind === "" ? {} : { [kind]: id }), groupBy: by })
  const names = new Map(keys.map((k) => [k.id, k.name]))
  const label = (r: UsageBody["rows"][number]): string =>
    by === "model"
      ? (r.model === "" || r.model === undefined ? "no model (refused or failed)" : `${r.provider}/${r.model}`)
      : by === "task"
      ? r.task ?? ""
      : by === "key"
      ? (r.key === null || r.key === undefined ? "static and admin keys" : names.get(r.key) ?? r.key)
      : r.team ?? "no team"
  return { totals: u.totals, rows: u.rows.map((r) => ({ requests: r.requests, promptTokens: r.promptTokens, completionTokens: r.completionTokens, costUsd: r.costUsd, label: label(r) })) }
}

const csvCell = (v: string | number) => {
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, "\"\"")}"` : s
}

/** The table as CSV: one line per row, plain numbers (USD unrounded), the range on every line. */
export const toCsv = (by: GroupBy, from: string, to: string, rows: ReadonlyArray<Row>): string =>
  [
    [by, "from", "to", "requests", "prompt_tokens", "completion_tokens", "cost_usd"].join(","),
    ...rows.map((r) => [r.label, from, to, r.requests, r.promptTokens, r.completionTokens, r.costUsd].map(csvCell).join(","))
  ].join("\n") + "\n"

const isoLocal = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)

const tile = (label: string, value: string) => h("div", { class: "tile" }, h("span", {}, label), h("strong", {}, value))

const titles: Record<GroupBy, string> = { model: "model", task: "task", key: "key", team: "team" }

export const mountUsage = (root: HTMLElement): (() => void) => {
  let csvUrl: string | undefined
  const load = () => {
    const by = h("select", { name: "groupBy" }, (["model", "task", "key", "team"] as const).map((g) => h("option", { value: g }, `per ${titles[g]}`)))
    const scope = h("select", { name: "scope" }, h("option", { value: "" }, "every key"))
    // the ledger keeps minute-precise times; a range ends now by default (to the next minute)
    const from = h("input", { type: "datetime-local", name: "from", value: isoLocal(new Date(Date.now() - 30 * 86_400_000)) })
    const to = h("input", { type: "datetime-local", name: "to", value: isoLocal(new Date(Date.now() + 60_000)) })
    const out = h("div", { "aria-live": "polite" })
    const form = h(
      "form",
      { class: "panel", "aria-label": "Range" },
      h("div", { class: "row" }, field("Group", by), field("Key or team", scope), field("From", from), field("To", to)),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Show"))
    )
    replace(root, h("h1", {}, "Usage"), form, out)
    let keys: ReadonlyArray<KeyRecord> = []
    const keysLoaded = listKeys().then((list) => {
      keys = list
      const teams = [...new Set(list.flatMap((k) => (k.team === null ? [] : [k.team])))]
      scope.append(h("optgroup", { label: "Keys" }, list.map((k) => h("option", { value: `key:${k.id}` }, k.name))))
      if (teams.length > 0) scope.append(h("optgroup", { label: "Teams" }, teams.map((t) => h("option", { value: `team:${t}` }, t))))
    })
    const show = () => {
      const range = new URLSearchParams()
      if (from.value !== "") range.set("from", new Date(from.value).toISOString())
      if (to.value !== "") range.set("to", new Date(to.value).toISOString())
      const g = by.value as GroupBy
      keysLoaded.then(() => grouped(g, range, scope.value, keys)).then(({ rows, totals }) => {
        if (csvUrl !== undefined) URL.revokeObjectURL(csvUrl)
        csvUrl = URL.createObjectURL(new Blob([toCsv(g, range.get("from") ?? "", range.get("to") ?? "", rows)], { type: "text/csv" }))
        const csv = h("a", { class: "button", href: csvUrl, download: `llm-gateway-usage-per-${g}.csv` }, "Export CSV")
        const name = titles[g]
        replace(
          out,
          h(
            "div",
            { class: "tiles" },
            tile("Requests", fmt.int(totals.requests)),
            tile("Prompt tokens", fmt.int(totals.promptTokens)),
            tile("Completion tokens", fmt.int(totals.completionTokens)),
            tile("Spend", fmt.usd(totals.costUsd))
          ),
          rows.length === 0 ? h("p", { class: "muted" }, "No requests in this range.") : [
            h("h2", {}, `Spend per ${name}`),
            bars(rows.map((r) => ({ label: r.label, value: r.costUsd })), `Spend per ${name}: ${rows.map((r) => `${r.label} ${fmt.usd(r.costUsd)}`).join(", ")}`, fmt.usd),
            h("h2", {}, `Tokens per ${name}`),
            bars(
              rows.map((r) => ({ label: r.label, value: r.promptTokens + r.completionTokens })),
              `Tokens per ${name}: ${rows.map((r) => `${r.label} ${fmt.int(r.promptTokens + r.completionTokens)}`).join(", ")}`,
              fmt.int
            ),
            h("div", { class: "actions" }, csv),
            h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { id: "usage-table" },
                h("thead", {}, h("tr", {}, [name[0].toUpperCase() + name.slice(1), "Requests", "Prompt tokens", "Completion tokens", "Spend"].map((c) => h("th", { scope: "col" }, c)))),
                h(
                  "tbody",
                  {},
                  rows.map((r) =>
                    h(
                      "tr",
                      {},
                      h("th", { scope: "row" }, r.label),
                      h("td", { class: "num" }, fmt.int(r.requests)),
                      h("td", { class: "num" }, fmt.int(r.promptTokens)),
                      h("td", { class: "num" }, fmt.int(r.completionTokens)),
                      h("td", { class: "num" }, fmt.usd(r.costUsd))
                    ))
                )
              )
            )
          ]
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
  return () => {
    if (csvUrl !== undefined) URL.revokeObjectURL(csvUrl)
  }
}
