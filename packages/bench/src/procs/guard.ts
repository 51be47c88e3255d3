/**
 * Preloaded (`node --import`) into every third-party child the bench starts (the gateway CLI,
 * Portkey's server):
 * - the child dies with the bench: when the IPC channel to the parent closes (the parent exited,
 *   crashed or was killed), so no server outlives a run;
 * - servers that listen without a host (Portkey's `serve({ port })` binds every interface) are
 *   held to loopback.
 */
import * as Net from "node:net"

if (process.channel !== undefined) {
  process.on("disconnect", () => process.exit(0))
}

const listen = Net.Server.prototype.listen
Net.Server.prototype.listen = function(this: Net.Server, ...args: Array<unknown>) {
  if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
    if (args.length === 1 || typeof args[1] === "function") args.splice(1, 0, "127.0.0.1")
    else if (args[1] === undefined || args[1] === "0.0.0.0" || args[1] === "::") args[1] = "127.0.0.1"
  } else if (typeof args[0] === "object" && args[0] !== null && "port" in args[0] && !("path" in args[0])) {
    const o = args[0] as Net.ListenOptions
    if (o.host === undefined || o.host === "0.0.0.0" || o.host === "::") args[0] = { ...o, host: "127.0.0.1" }
  }
  return (listen as (...a: Array<unknown>) => Net.Server).apply(this, args)
} as typeof Net.Server.prototype.listen
