/** Child entry: the load generator, one job at a time, driven over IPC by the bench. */
import { exitWithParent } from "../procs/child.ts"
import type { FromLoadgen, JobResult, ToLoadgen } from "./jobs.ts"
import { hold, paced, saturate, streams } from "./runJobs.ts"

const send = (m: FromLoadgen) => process.send?.(m)

process.on("message", async (raw) => {
  const { id, job } = raw as ToLoadgen
  try {
    let result: JobResult
    switch (job.kind) {
      case "saturate":
        result = await saturate(job)
        break
      case "paced":
        result = await paced(job)
        break
      case "streams":
        result = await streams(job)
        break
      case "hold":
        result = await hold(job, (firstChunk, allOpenMs) => send({ id, type: "holding", firstChunk, allOpenMs }))
        break
    }
    send({ id, type: "result", result })
  } catch (error) {
    send({ id, type: "error", message: error instanceof Error ? error.message : String(error) })
  }
})
exitWithParent()
send({ type: "ready" })
