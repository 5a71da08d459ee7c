import { Batcher } from 'promise-batcher'

export interface BatchedOptions {
  /** The most inputs one run takes. */
  maxBatchSize: number
  /** How many runs may be in flight at once; calls beyond them wait for the next run. */
  maxInFlight: number
}

/**
 * Turns `run`, which does a whole array of inputs in one round trip, into a function of one
 * input whose calls made at about the same time share a run (group commit).
 *
 * A call made while fewer than `maxInFlight` runs are in flight starts one at once, so a lone call
 * waits for nothing; calls made while they are all busy queue and go together in the next run,
 * which starts as soon as one ends. So a burst costs a few round trips instead of one per call,
 * and batches grow only as the load does.
 *
 * Each call gets its own result or its own error: when a run of several fails, each of its inputs
 * is run again alone, so one bad input never fails the others. A run may also answer an Error for
 * one input (a refusal) among results for the others: that call alone rejects with it.
 */
export function batched<I, O> (run: (inputs: readonly I[]) => Promise<ReadonlyArray<O | Error>>, options: BatchedOptions): (input: I) => Promise<O> {
  const runAlone = async (input: I): Promise<O | Error> => {
    try {
      return (await run([input]))[0] as O | Error
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error))
    }
  }
  const batcher = new Batcher<I, O>({
    maxBatchSize: options.maxBatchSize,
    // One queued call starts a run while fewer than maxInFlight are running; none does beyond.
    queuingThresholds: [...Array.from({ length: options.maxInFlight }, () => 1), Number.POSITIVE_INFINITY],
    batchingFunction: async (inputs) => {
      if (inputs.length === 1) return [await runAlone(inputs[0] as I)]
      try {
        return await run(inputs)
      } catch {
        return await Promise.all(inputs.map(runAlone))
      }
    }
  })
  return async (input) => {
    const result = batcher.getResult(input)
    // Run now (within the limits above) rather than after the batcher's default timer.
    batcher.send()
    return await result
  }
}
