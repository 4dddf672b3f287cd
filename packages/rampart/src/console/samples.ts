import type client from 'prom-client'

export type Labels = Record<string, string>

/** One value of a metric, its shared labels merged in and `__name__` set for histogram parts. */
export interface Sample {
  labels: Labels
  value: number
}

/** The samples of one metric, with shared labels merged in (how Rampart's fast metrics report). */
export async function samples(registry: client.Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name)
  if (!metric) return []
  const data = (await metric.get()) as {
    values: Array<{
      labels: Labels
      sharedLabels?: Labels
      value: number
      metricName?: string
    }>
  }
  return data.values.map((v) => ({
    labels: { ...v.sharedLabels, ...v.labels, ...(v.metricName ? { __name__: v.metricName } : {}) },
    value: v.value,
  }))
}
