/**
 * What the deploy files must say, as checks that return problems (so a test can show each
 * check failing on a broken copy). Objects are plain parsed YAML.
 */
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked by the checks below
export type Obj = Record<string, any>

const get = (o: unknown, path: string): Obj[string] =>
  path.split('.').reduce<Obj | undefined>((v, k) => (v == null ? undefined : v[k]), o as Obj)

/** Production requirements of the Deployment's pod and its one container. */
export function deploymentProblems(
  deployment: Obj,
  configMap: Obj,
  drainSeconds: number,
): string[] {
  const problems: string[] = []
  const pod = get(deployment, 'spec.template.spec')
  const c = pod?.containers?.[0] ?? {}
  const probe = (name: string, path: string) => {
    if (get(c, `${name}.httpGet.path`) !== path) problems.push(`${name} must GET ${path}`)
  }
  probe('readinessProbe', '/readyz')
  probe('livenessProbe', '/healthz')
  if (get(c, 'startupProbe.httpGet') === undefined) problems.push('a startupProbe is required')
  const delay = Number(configMap.data?.SHUTDOWN_DELAY_S || 5)
  const sleep = get(c, 'lifecycle.preStop.exec.command') ?? []
  if (sleep[0] !== 'sleep' || Number(sleep[1]) !== delay)
    problems.push(`preStop must sleep SHUTDOWN_DELAY_S (${delay}) seconds`)
  // preStop, then the service's own SHUTDOWN_DELAY_S and drain after SIGTERM.
  if (!(pod?.terminationGracePeriodSeconds > delay * 2 + drainSeconds))
    problems.push('terminationGracePeriodSeconds must exceed preStop + delay + drain deadline')
  const sc = c.securityContext ?? {}
  if (sc.runAsNonRoot !== true && pod?.securityContext?.runAsNonRoot !== true)
    problems.push('runAsNonRoot must be true')
  if (sc.readOnlyRootFilesystem !== true) problems.push('readOnlyRootFilesystem must be true')
  if (sc.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation must be false')
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push('capabilities must drop ALL')
  for (const kind of ['requests', 'limits'])
    for (const r of ['cpu', 'memory'])
      if (get(c, `resources.${kind}.${r}`) === undefined) problems.push(`resources.${kind}.${r}`)
  // Secrets come by reference: no env value may carry one.
  for (const e of c.env ?? [])
    if (/SECRET|TOKEN|PASSWORD|_KEY$|_DSN$|DATABASE_URL|AUDIT_DB/.test(e.name) && 'value' in e)
      problems.push(`${e.name} is inlined; reference a Secret`)
  if (!(c.envFrom ?? []).some((e: Obj) => e.secretRef?.name))
    problems.push('the Secret must be referenced with envFrom.secretRef')
  return problems
}

/** The kustomize base holds together: every resource exists, names and selectors match. */
export function compositionProblems(kustomization: Obj, files: ReadonlyMap<string, Obj>): string[] {
  const problems: string[] = []
  const resources: string[] = kustomization.resources ?? []
  for (const r of resources) if (!files.has(r)) problems.push(`resource ${r} does not exist`)
  for (const f of files.keys())
    if (!resources.includes(f)) problems.push(`${f} is not listed in kustomization.yaml`)
  const objs = resources.flatMap((r) => (files.has(r) ? [files.get(r) as Obj] : []))
  const ids = objs.map((o) => `${o.kind}/${o.metadata?.name}`)
  for (const id of new Set(ids))
    if (ids.filter((x) => x === id).length > 1) problems.push(`${id} is defined twice`)
  const byKind = (kind: string) => objs.filter((o) => o.kind === kind)
  const deployments = byKind('Deployment')
  const [deployment] = deployments
  if (!deployment) return [...problems, 'no Deployment']
  // The Deployment whose pods a selector picks (the service's, or its worker's), if any.
  const podLabels = (d: Obj): Obj => get(d, 'spec.template.metadata.labels') ?? {}
  const selected = (sel: Obj | undefined) =>
    sel === undefined
      ? undefined
      : deployments.find((d) => Object.entries(sel).every(([k, v]) => podLabels(d)[k] === v))
  const containerOf = (d: Obj) => get(d, 'spec.template.spec').containers[0]
  const portNames = (d: Obj | undefined) =>
    d === undefined ? [] : (containerOf(d).ports ?? []).map((p: Obj) => p.name)
  for (const d of deployments) {
    if (selected(get(d, 'spec.selector.matchLabels')) !== d)
      problems.push('Deployment selector does not match its pod labels')
    const pod = get(d, 'spec.template.spec')
    for (const ref of containerOf(d).envFrom ?? [])
      if (
        ref.configMapRef &&
        !byKind('ConfigMap').some((c) => c.metadata.name === ref.configMapRef.name)
      )
        problems.push(`ConfigMap ${ref.configMapRef.name} is not in the base`)
    for (const v of pod.volumes ?? [])
      if (
        v.persistentVolumeClaim &&
        !byKind('PersistentVolumeClaim').some(
          (c) => c.metadata.name === v.persistentVolumeClaim.claimName,
        )
      )
        problems.push(
          `PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} is not in the base`,
        )
  }
  for (const s of byKind('Service')) {
    const target = selected(s.spec.selector)
    if (target === undefined) {
      problems.push(`Service ${s.metadata.name} selects no pod`)
      continue
    }
    for (const p of s.spec.ports)
      if (typeof p.targetPort === 'string' && !portNames(target).includes(p.targetPort))
        problems.push(`Service port ${p.name} targets unknown port ${p.targetPort}`)
  }
  for (const kind of ['PodDisruptionBudget', 'ServiceMonitor'])
    for (const o of byKind(kind))
      if (selected(o.spec.selector?.matchLabels) === undefined)
        problems.push(`${kind} selects no pod`)
  for (const n of byKind('NetworkPolicy'))
    if (selected(n.spec.podSelector?.matchLabels) === undefined)
      problems.push('NetworkPolicy selects no pod')
  for (const h of byKind('HorizontalPodAutoscaler'))
    if (!deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name))
      problems.push('HorizontalPodAutoscaler targets another Deployment')
  for (const m of byKind('ServiceMonitor')) {
    const target = selected(m.spec.selector?.matchLabels)
    const secretName = (target === undefined ? [] : (containerOf(target).envFrom ?? [])).find(
      (e: Obj) => e.secretRef,
    )?.secretRef?.name
    for (const e of m.spec.endpoints) {
      if (!portNames(target).includes(e.port))
        problems.push(`ServiceMonitor scrapes unknown port ${e.port}`)
      if (e.authorization?.credentials?.name !== secretName)
        problems.push("ServiceMonitor's token must come from the Deployment's Secret")
    }
  }
  if (byKind('Secret').length > 0) problems.push('a Secret is inlined in the base')
  for (const kind of [
    'Service',
    'PodDisruptionBudget',
    'HorizontalPodAutoscaler',
    'ConfigMap',
    'NetworkPolicy',
    'ServiceMonitor',
    'PrometheusRule',
  ])
    if (byKind(kind).length === 0) problems.push(`no ${kind}`)
  return problems
}

/** The compose file: every service healthy-checked, the service waits for its dependencies. */
export function composeProblems(compose: Obj, service: string): string[] {
  const problems: string[] = []
  for (const [name, s] of Object.entries<Obj>(compose.services ?? {}))
    if (!Array.isArray(s.healthcheck?.test)) problems.push(`${name} has no healthcheck`)
  const app = compose.services?.[service] ?? {}
  if (app.build === undefined) problems.push(`${service} is not built from the Dockerfile`)
  for (const dep of ['postgres', 'redis', 'otel-collector'])
    if (app.depends_on?.[dep]?.condition !== 'service_healthy')
      problems.push(`${service} must wait for ${dep} to be healthy`)
  for (const [k, v] of Object.entries<string>(app.environment ?? {}))
    if (/SECRET|TOKEN|PASSWORD/.test(k) && !/^\$\{[A-Z_]+:\?/.test(v))
      problems.push(`${k} must come from the operator's environment`)
  return problems
}
