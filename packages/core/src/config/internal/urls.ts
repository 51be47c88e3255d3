/**
 * Base URLs as each SDK wants them. Env variables carry whatever users copy from docs: a
 * `…/v1` base, a full `…/chat/completions` endpoint, or a bare `host:port` (a
 * `VLLM_BASE_URL=http://localhost:8000`; notes/configuration.md "Environment variables"). The common part is here (scheme, trailing slashes);
 * what each SDK appends, and so what to strip, is the definition's `normalizeBaseUrl`.
 */
import type { ProviderSpec } from "../ProviderSpec.ts"

export const normalizeBaseUrl = (input: string, spec: ProviderSpec | undefined): string => {
  let url = input.trim().replace(/\/+$/, "")
  // `localhost:11434` would parse as a URL with scheme "localhost:"
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = `http://${url}`
  return spec?.normalizeBaseUrl === undefined ? url : spec.normalizeBaseUrl(url)
}
