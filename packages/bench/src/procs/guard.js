/**
 * Preloaded (`node --import`) into every third-party child the bench starts (the gateway CLI,
 * Portkey's server):
 * - the child dies with the bench: when the IPC channel to the parent closes (the parent exited,
 *   crashed or was killed), so no server outlives a run;
 * - servers that listen without a host (Portkey's `serve({ port })` binds every interface) are
 *   held to loopback.
 *
 * Plain JavaScript, not TypeScript: the first `.ts` file an isolate loads starts Node's type
 * stripper in it (~18 MB), which would be charged to the gateway's memory figures when the
 * gateway itself runs from its bundle (notes/operations.md "Serving from a bundle").
 */
// @ts-check
import * as Net from "node:net"

if (process.channel !== undefined) {
  process.on("disconnect", () => process.exit(0))
}

const listen = Net.Server.prototype.listen
/** @this {Net.Server} @param {Array<unknown>} args */
Net.Server.prototype.listen = function(...args) {
  if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
    if (args.length === 1 || typeof args[1] === "function") args.splice(1, 0, "127.0.0.1")
    else if (args[1] === undefined || args[1] === "0.0.0.0" || args[1] === "::") args[1] = "127.0.0.1"
  } else if (typeof args[0] === "object" && args[0] !== null && "port" in args[0] && !("path" in args[0])) {
    const o = /** @type {Net.ListenOptions} */ (args[0])
    if (o.host === undefined || o.host === "0.0.0.0" || o.host === "::") args[0] = { ...o, host: "127.0.0.1" }
  }
  return /** @type {(...a: Array<unknown>) => Net.Server} */ (listen).apply(this, args)
}
