/** A tiny element builder: the console has no framework, so views build DOM with `h`. */
type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>

export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Child | ReadonlyArray<Child>>
): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v)
    else if (v === true) el.setAttribute(k, "")
    else el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

const append = (el: Element, children: ReadonlyArray<Child | ReadonlyArray<Child>>) => {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c)
    else if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c))
  }
}

/** Replaces an element's children. */
export const replace = (el: Element, ...children: Array<Child | ReadonlyArray<Child>>) => {
  el.replaceChildren()
  append(el, children)
}

let ids = 0
/** A unique id, for `<label for>` and `aria-labelledby`. */
export const uid = (prefix: string) => `${prefix}-${++ids}`

/** A labelled form control: the label always names the control (screen readers, click target). */
export const field = (label: string, control: HTMLElement, hint?: string) => {
  const id = control.id || uid("f")
  control.id = id
  const hintId = hint === undefined ? undefined : `${id}-hint`
  if (hintId !== undefined) control.setAttribute("aria-describedby", hintId)
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint === undefined ? null : h("small", { id: hintId! }, hint))
}

export const fmt = {
  int: (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US")),
  ms: (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? "–" : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`),
  pct: (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? "–" : `${(n * 100).toFixed(n < 0.1 && n > 0 ? 1 : 0)}%`),
  usd: (n: number | null | undefined) => {
    if (n === null || n === undefined || !Number.isFinite(n)) return "–"
    if (n === 0) return "$0"
    // tiny requests cost fractions of a cent: show enough digits to see them
    return n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`
  }
}
