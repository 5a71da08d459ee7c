import { Registry } from 'prom-client'
import { processRegistry } from './process-metrics.js'
import { createStateRegistry, type StateSources } from './state-gauges.js'

/** Everything one process exposes at /metrics: its own metrics and the shared-state gauges. */
export function createScrapeRegistry (sources: StateSources): Registry {
  return Registry.merge([processRegistry, createStateRegistry(sources)])
}
