/** The bench's handle on its load-generator child: one job at a time over IPC. */
import type { Child } from "../procs/Processes.ts"
import type { FromLoadgen, HoldJob, HoldResult, Job, JobResult, PacedJob, PacedResult, SaturateJob, SaturateResult, StreamsJob, StreamsResult } from "./jobs.ts"

export interface Loadgen {
  run(job: SaturateJob): Promise<SaturateResult>
  run(job: PacedJob): Promise<PacedResult>
  run(job: StreamsJob): Promise<StreamsResult>
  run(job: HoldJob, onHolding: (firstChunk: number, allOpenMs: number) => void): Promise<HoldResult>
}

export const makeLoadgen = (child: Child): Loadgen => {
  let next = 0
  const run = (job: Job, onHolding?: (firstChunk: number, allOpenMs: number) => void): Promise<JobResult> =>
    new Promise((resolve, reject) => {
      const id = ++next
      const onMessage = (raw: unknown) => {
        const m = raw as FromLoadgen
        if (!("id" in m) || m.id !== id) return
        if (m.type === "holding") return onHolding?.(m.firstChunk, m.allOpenMs)
        cleanup()
        if (m.type === "result") resolve(m.result)
        else reject(new Error(`loadgen: ${m.message}`))
      }
      const onExit = () => {
        cleanup()
        reject(new Error(`loadgen exited\n${child.tail()}`))
      }
      const cleanup = () => {
        child.proc.off("message", onMessage)
        child.proc.off("exit", onExit)
      }
      child.proc.on("message", onMessage)
      child.proc.on("exit", onExit)
      child.proc.send({ id, job })
    })
  return { run } as Loadgen
}
