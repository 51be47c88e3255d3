/**
 * The console's shell: sign-in, the views (hash routes, so every view has a link and the back
 * button works) and the session bar. The page itself needs no key; the API calls carry the key
 * the user typed, kept in this tab's session storage only.
 */
import { adminApiExists } from "./admin.ts"
import { authHeader, failure, session, setUnauthorizedHandler, unauthorizedMessage } from "./api.ts"
import { field, h, replace } from "./dom.ts"
import { mountKeys } from "./keys.ts"
import { mountOverview } from "./overview.ts"
import { mountPlayground } from "./playground.ts"
import { mountUsage } from "./usage.ts"

type View = "overview" | "playground" | "usage" | "keys"
const views: Record<View, { readonly title: string; readonly mount: (root: HTMLElement) => () => void; readonly admin?: boolean }> = {
  overview: { title: "Overview", mount: mountOverview },
  playground: { title: "Playground", mount: mountPlayground },
  usage: { title: "Usage", mount: mountUsage, admin: true },
  keys: { title: "Keys", mount: mountKeys, admin: true }
}

const main = document.getElementById("main")!
const nav = document.getElementById("nav")!
const bar = document.getElementById("session")!
let unmount: () => void = () => {}
let adminApi = false

const current = (): View => {
  const v = location.hash.replace(/^#\/?/, "") as View
  return v in views && (views[v].admin !== true || adminApi) ? v : "overview"
}

const renderNav = (signedIn: boolean) => {
  if (!signedIn) {
    nav.replaceChildren()
    bar.replaceChildren()
    return
  }
  const active = current()
  replace(
    nav,
    h(
      "ul",
      {},
      (Object.keys(views) as Array<View>)
        .filter((v) => views[v].admin !== true || adminApi)
        .map((v) => h("li", {}, h("a", { href: `#/${v}`, "aria-current": v === active ? "page" : null }, views[v].title)))
    )
  )
  const out = h("button", { type: "button" }, "Sign out")
  out.addEventListener("click", () => {
    session.clear()
    signIn()
  })
  replace(bar, out)
}

const show = () => {
  unmount()
  const v = current()
  renderNav(true)
  document.title = `${views[v].title} · LLM Gateway`
  unmount = views[v].mount(main)
}

/** The sign-in form; `message` says why it is shown (a refused or missing key). */
const signIn = (message?: string) => {
  unmount()
  unmount = () => {}
  renderNav(false)
  document.title = "Sign in · LLM Gateway"
  const input = h("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false" })
  const error = h("p", { class: "error", role: "alert", id: "login-error" }, message ?? "")
  if (message === undefined) error.hidden = true
  const form = h(
    "form",
    { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in"),
    h("p", {}, "Enter a gateway key (server.apiKeys, or a virtual key). It stays in this browser tab's session storage and is sent only to this gateway. Leave it empty if the gateway needs no key."),
    error,
    field("Gateway key", input),
    h("button", { type: "submit", class: "primary" }, "Sign in")
  )
  form.addEventListener("submit", async (e) => {
    e.preventDefault()
    const key = input.value.trim()
    error.hidden = true
    try {
      const res = await fetch("/api/v1/llm/status", { headers: authHeader(key), credentials: "omit", cache: "no-store" })
      if (!res.ok) {
        const f = await failure(res)
        throw new Error(f.status === 401 ? unauthorizedMessage(key) : `The gateway answered ${f.status}: ${f.message}`)
      }
      session.setKey(key)
      if (location.hash === "" || location.hash === "#/") location.hash = "#/overview"
      show()
    } catch (err) {
      error.textContent = err instanceof TypeError ? `Cannot reach the gateway: ${err.message}` : (err as Error).message
      error.hidden = false
      input.focus()
    }
  })
  replace(main, form)
  input.focus()
}

setUnauthorizedHandler((message) => {
  session.clear()
  signIn(message)
})
window.addEventListener("hashchange", () => {
  if (session.key() !== null) show()
})

void adminApiExists().then((exists) => {
  adminApi = exists
  // a link straight to an admin view waited for this answer
  if (session.key() !== null) exists && location.hash.match(/usage|keys/) !== null ? show() : renderNav(true)
})
if (session.key() === null) signIn()
else show()
