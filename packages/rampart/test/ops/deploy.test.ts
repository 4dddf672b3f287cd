import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import { Service } from 'kubernetes-models/v1/Service'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../src/slo/load-config.js'
import { generateRules } from '../../src/slo/rules.js'
import { AIRLOCK_CONFIG_FILE, REPO_ROOT } from '../slo/support.js'
import {
  composeProblems,
  compositionProblems,
  deploymentProblems,
  type Obj,
} from './deploy-policy.js'

// kubernetes-models validates each object against the OpenAPI schema of its API version
// (types, required fields, enums, formats); the Prometheus Operator's CRDs come from
// @kubernetes-models/prometheus-operator. Unknown fields are caught at compile time: the
// generator (src/ops/k8s.ts) types every manifest with the same models, and the committed
// files are byte-for-byte what it generates (dashboard-ops.test.ts).
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
}
/** The drain deadline of the graceful shutdown (`drainTimeoutMs`'s default). */
const DRAIN_S = 10

const K8S = join(REPO_ROOT, 'ops/k8s')
const read = (file: string) => parse(readFileSync(join(K8S, file), 'utf8'))
const manifests = new Map(
  readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => [f, read(f)]),
)
const kustomization = read('kustomization.yaml')
const clone = <T>(v: T): T => structuredClone(v)

function schemaErrors(obj: { apiVersion: string; kind: string }): string | undefined {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`]
  if (!Model) return `no schema for ${obj.apiVersion} ${obj.kind}`
  try {
    new Model(obj as never).validate()
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

describe('ops/k8s, the kustomize base', () => {
  it('every object validates against its Kubernetes or Prometheus Operator schema', () => {
    // The service's nine, and the worker's Deployment, Service, ServiceMonitor and NetworkPolicy.
    expect(manifests.size).toBe(13)
    for (const [file, obj] of manifests) expect(schemaErrors(obj), file).toBeUndefined()
    // The validator does reject a wrong object (so this test can fail).
    const bad = clone(manifests.get('deployment.yaml'))
    bad.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand'
    expect(schemaErrors(bad)).toMatch(/containerPort/)
    const badRule = clone(manifests.get('prometheusrule.yaml'))
    badRule.spec.groups[0].rules[0].expr = { not: 'a string' }
    expect(schemaErrors(badRule)).toBeDefined()
  })

  it('composes: every resource listed exists, names and selectors line up, no Secret inlined', () => {
    expect(compositionProblems(kustomization, manifests)).toEqual([])
    const broken = new Map(manifests)
    const svc = clone(manifests.get('service.yaml'))
    svc.spec.selector = { 'app.kubernetes.io/name': 'other' }
    broken.set('service.yaml', svc)
    broken.set('secret.yaml', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } })
    expect(compositionProblems(kustomization, broken)).toEqual([
      'secret.yaml is not listed in kustomization.yaml',
      'Service airlock selects no pod',
    ])
    expect(
      compositionProblems({ ...kustomization, resources: ['gone.yaml'] }, new Map()),
    ).toContain('resource gone.yaml does not exist')
  })

  it('the Deployment has the probes, preStop delay, grace period, hardening and resources', () => {
    const deployment = manifests.get('deployment.yaml')
    const configMap = manifests.get('configmap.yaml')
    expect(deploymentProblems(deployment, configMap, DRAIN_S)).toEqual([])
    // Each requirement fails when removed.
    const mutants: [string, (d: Obj) => void, RegExp][] = [
      ['no readiness probe', (d) => delete d.readinessProbe, /readinessProbe/],
      ['no liveness probe', (d) => delete d.livenessProbe, /livenessProbe/],
      ['no startup probe', (d) => delete d.startupProbe, /startupProbe/],
      ['no preStop', (d) => delete d.lifecycle, /preStop/],
      ['writable root', (d) => delete d.securityContext.readOnlyRootFilesystem, /readOnly/],
      ['escalation', (d) => (d.securityContext.allowPrivilegeEscalation = true), /Escalation/],
      ['capabilities', (d) => delete d.securityContext.capabilities, /drop ALL/],
      ['no limits', (d) => delete d.resources.limits, /resources.limits/],
      ['inlined secret', (d) => d.env.push({ name: 'SECRET_KEY', value: 'x' }), /inlined/],
    ]
    for (const [what, mutate, problem] of mutants) {
      const d = clone(deployment)
      mutate(d.spec.template.spec.containers[0])
      expect(deploymentProblems(d, configMap, DRAIN_S).join('\n'), what).toMatch(problem)
    }
    const shortGrace = clone(deployment)
    shortGrace.spec.template.spec.terminationGracePeriodSeconds = 15
    expect(deploymentProblems(shortGrace, configMap, DRAIN_S)).toEqual([
      'terminationGracePeriodSeconds must exceed preStop + delay + drain deadline',
    ])
  })

  it('shares state between replicas: Redis for rate limits, a ReadWriteMany volume, 3+ replicas', () => {
    const configMap = manifests.get('configmap.yaml')
    expect(configMap.data.RATE_LIMIT_STORE).toBe('redis://redis:6379')
    expect(manifests.get('pvc.yaml').spec.accessModes).toEqual(['ReadWriteMany'])
    expect(manifests.get('deployment.yaml').spec.replicas).toBeGreaterThan(1)
    expect(manifests.get('hpa.yaml').spec.minReplicas).toBeGreaterThan(1)
  })

  it('the PrometheusRule carries exactly the generated rules', async () => {
    const { config } = await loadConfig(REPO_ROOT, AIRLOCK_CONFIG_FILE)
    expect(manifests.get('prometheusrule.yaml').spec.groups).toEqual(generateRules(config).groups)
  })
})

describe('ops/compose.yml', () => {
  const compose = parse(readFileSync(join(REPO_ROOT, 'ops/compose.yml'), 'utf8'))

  it('builds the service from the Dockerfile; every service is health-checked; it waits for its dependencies', () => {
    expect(composeProblems(compose, 'airlock')).toEqual([])
    expect(compose.services.airlock.build).toEqual({ context: '..', dockerfile: 'Dockerfile' })
    const broken = clone(compose)
    delete broken.services.redis.healthcheck
    broken.services.airlock.depends_on.postgres = { condition: 'service_started' }
    broken.services.airlock.environment.SECRET_KEY = 'inline'
    expect(composeProblems(broken, 'airlock')).toEqual([
      'redis has no healthcheck',
      'airlock must wait for postgres to be healthy',
      "SECRET_KEY must come from the operator's environment",
    ])
  })
})
