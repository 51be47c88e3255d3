/** What the in-process child reports. Times in microseconds. */
export interface MicroRound {
  readonly avgUs: number
  readonly p50Us: number
  readonly p99Us: number
  readonly minUs: number
  readonly samples: number
}

/** Medians over the rounds (`minUs`: the lowest seen; `samples`: all rounds together). */
export interface MicroResult extends MicroRound {
  readonly name: string
  readonly rounds: ReadonlyArray<MicroRound>
}

export interface InProcessResult {
  readonly micro: ReadonlyArray<MicroResult>
  readonly planCandidates: ReadonlyArray<string>
}
