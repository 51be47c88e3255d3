/** What the in-process child reports. Times in microseconds. */
export interface MicroResult {
  readonly name: string
  readonly avgUs: number
  readonly p50Us: number
  readonly p99Us: number
  readonly minUs: number
  readonly samples: number
}

export interface InProcessResult {
  readonly micro: ReadonlyArray<MicroResult>
  readonly planCandidates: ReadonlyArray<string>
}
