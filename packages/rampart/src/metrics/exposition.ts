/**
 * Rewrites prom-client's OpenMetrics output as Prometheus text format 0.0.4.
 *
 * Why: prom-client binds a registry to one format, and a counter registered in an OpenMetrics
 * registry loses its `_total` suffix in the other format's output, so one metric object cannot
 * serve both. Rampart keeps a single OpenMetrics registry (needed for exemplars) and derives
 * the text format, which differs only in counter family names, exemplars and `# EOF`.
 */
export function openMetricsToText(om: string): string {
  const lines = om.split('\n')
  const out: string[] = []
  let pendingHelp: string | undefined
  for (const line of lines) {
    if (line.startsWith('# HELP ')) {
      pendingHelp = line
      continue
    }
    if (line.startsWith('# TYPE ')) {
      const [, , family, type] = line.split(' ')
      const name = type === 'counter' ? `${family}_total` : family
      if (pendingHelp !== undefined)
        out.push(`# HELP ${name}${pendingHelp.slice(7 + (family?.length ?? 0))}`)
      out.push(`# TYPE ${name} ${type === 'unknown' ? 'untyped' : type}`)
      pendingHelp = undefined
      continue
    }
    if (pendingHelp !== undefined) {
      out.push(pendingHelp)
      pendingHelp = undefined
    }
    if (line === '# EOF' || line.startsWith('# UNIT ')) continue
    const exemplar = line.indexOf(' # {')
    out.push(exemplar === -1 ? line : line.slice(0, exemplar))
  }
  return out.join('\n')
}
