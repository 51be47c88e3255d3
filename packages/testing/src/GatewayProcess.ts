/**
 * `gateway serve --config FILE --port 0` as a child process, for tests and bench scenarios that
 * need several real instances: resolves with the URL from the server's "listening on …" line.
 * The child gets a bare environment (PATH, HOME = cwd) so no provider key of the caller leaks in.
 */
import { type ChildProcess, spawn } from "node:child_process"

export interface GatewayProcess {
  readonly child: ChildProcess
  readonly url: string
}

export const serveGateway = (
  cli: string,
  configFile: string,
  options: { readonly cwd: string; readonly timeoutMs?: number }
): Promise<GatewayProcess> =>
  new Promise((ok, fail) => {
    const child = spawn(process.execPath, [cli, "serve", "--config", configFile, "--port", "0"], {
      env: { PATH: process.env.PATH ?? "", HOME: options.cwd, NO_COLOR: "1" },
      cwd: options.cwd
    })
    let stderr = ""
    const timer = setTimeout(() => fail(new Error(`no listening line in: ${stderr}`)), options.timeoutMs ?? 30_000)
    child.stderr.on("data", (d) => {
      stderr += d
      const m = /listening on (http:\/\/\S+?) /.exec(stderr)
      if (m !== null) {
        clearTimeout(timer)
        ok({ child, url: m[1] })
      }
    })
  })
