/**
 * Calls to the gateway — only to the origin that served the page. The keys live in this tab's
 * session storage only (gone when the tab closes), never in the page or the bundle.
 */
const KEY = "llm-gateway.key"
const ADMIN_KEY = "llm-gateway.admin-key"

export const session = {
  key: () => sessionStorage.getItem(KEY),
  adminKey: () => sessionStorage.getItem(ADMIN_KEY),
  setKey: (k: string) => sessionStorage.setItem(KEY, k),
  setAdminKey: (k: string) => sessionStorage.setItem(ADMIN_KEY, k),
  clear: () => {
    sessionStorage.removeItem(KEY)
    sessionStorage.removeItem(ADMIN_KEY)
  }
}

/** A failed call, with the gateway's error envelope when it sent one. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export const authHeader = (key: string | null): Record<string, string> =>
  key === null || key === "" ? {} : { authorization: `Bearer ${key}` }

/** Turns a non-2xx answer into an ApiError carrying the envelope's message and code. */
export const failure = async (res: Response): Promise<ApiError> => {
  let code = `http_${res.status}`
  let message = `${res.status} ${res.statusText}`
  try {
    const body = await res.json() as { error?: { message?: string; code?: string } }
    if (body.error?.message !== undefined) message = body.error.message
    if (body.error?.code !== undefined && body.error.code !== null) code = body.error.code
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message)
}

/** Set by the app: a 401 on the gateway key sends the user back to sign in with a message. */
export let onUnauthorized: (message: string) => void = () => {}
export const setUnauthorizedHandler = (f: (message: string) => void) => {
  onUnauthorized = f
}

export const request = async (
  path: string,
  init: RequestInit & { readonly admin?: boolean } = {}
): Promise<Response> => {
  const key = init.admin === true ? session.adminKey() : session.key()
  const res = await fetch(path, {
    ...init,
    headers: { ...authHeader(key), ...(init.headers as Record<string, string> | undefined) },
    credentials: "omit",
    cache: "no-store"
  })
  if (res.ok) return res
  const e = await failure(res)
  // the key was accepted at sign-in: a 401 now means it stopped working (revoked, expired)
  if (e.status === 401 && init.admin !== true) onUnauthorized(unauthorizedMessage(key, true))
  throw e
}

export const getJson = async <T>(path: string, init: RequestInit & { readonly admin?: boolean } = {}): Promise<T> =>
  (await request(path, init)).json() as Promise<T>

export const unauthorizedMessage = (key: string | null, signedIn = false) =>
  key === null || key === ""
    ? "This gateway requires a key (401 invalid_api_key). Enter a gateway key to continue."
    : signedIn
    ? "The gateway no longer accepts this key (401 invalid_api_key): it was revoked, has expired or was removed from the configuration. Sign in with another key."
    : "The gateway did not accept this key (401 invalid_api_key). Check it and sign in again."
