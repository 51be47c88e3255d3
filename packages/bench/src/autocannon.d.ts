/** The slice of autocannon's API the load generator uses (the package ships no types). */
declare module "autocannon" {
  import type { EventEmitter } from "node:events"
  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    body?: string
    connections?: number
    duration?: number
    timeout?: number
    idReplacement?: boolean
    requests?: ReadonlyArray<{
      method?: string
      path?: string
      body?: string
      headers?: Record<string, string>
      setupRequest?: (request: { body: string }) => { body: string }
    }>
  }
  function autocannon(options: Options, callback: (error: Error | null, result: unknown) => void): EventEmitter
  export default autocannon
}
