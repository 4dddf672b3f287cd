// Types only (a devDependency): the compiler checks every manifest's fields against the
// Kubernetes and Prometheus Operator API, and the ops test validates the objects at run time.
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import type { IService } from 'kubernetes-models/v1/Service'
import type { SloConfig } from '../slo/options.js'
import { generateRules } from '../slo/rules.js'
import { productionEnv, SHUTDOWN_DELAY_S } from './env.js'

/** The drain deadline of the graceful shutdown (`drainTimeoutMs`'s default), in seconds. */
const DRAIN_S = 10
/** Above preStop + the service's own delay + the drain, with room for the process to exit. */
const GRACE_S = SHUTDOWN_DELAY_S * 2 + DRAIN_S + 10

/** Every pod runs as the image's unprivileged user (uid 1000) under the runtime's seccomp profile. */
const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' as const },
}
/** Resources and a read-only, capability-free container: the same for the service and its worker. */
const CONTAINER_LIMITS = {
  resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  securityContext: {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  },
}
/** The shared uploads volume at /data and a bounded scratch /tmp (the root filesystem is read-only). */
const DATA_MOUNTS = [
  { name: 'data', mountPath: '/data' },
  { name: 'tmp', mountPath: '/tmp' },
]
const dataVolumes = (svc: string) => [
  { name: 'data', persistentVolumeClaim: { claimName: `${svc}-data` } },
  { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
]

/**
 * The Kubernetes manifests of the bundle, a kustomize base (`kubectl apply -k ops/k8s`):
 * Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler, ConfigMap, the shared
 * uploads volume, NetworkPolicy, and the Prometheus Operator's ServiceMonitor and PrometheusRule.
 * Secrets are referenced by name (`<service>-secrets`), never written here.
 */
export function k8sManifests(config: SloConfig): Map<string, unknown> {
  const svc = config.service
  const labels = { 'app.kubernetes.io/name': svc, 'app.kubernetes.io/part-of': svc }
  const selector = { 'app.kubernetes.io/name': svc }
  const meta = (name: string) => ({ name, labels })
  const secretName = `${svc}-secrets`
  const configName = `${svc}-config`
  const httpGet = (path: string) => ({ httpGet: { path, port: 'http' } })
  const files = new Map<string, unknown>()

  files.set('configmap.yaml', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(configName),
    // Every non-secret variable of the configuration; "" leaves it unset (the reader treats a
    // blank value as absent). Redis and PostgreSQL are shared by every replica.
    data: productionEnv(config),
  } satisfies IConfigMap)
  // Its grace period is above preStop + the service's own delay + the drain deadline.
  files.set(
    'deployment.yaml',
    deployment({
      metadata: meta(svc),
      replicas: 3,
      selector,
      labels,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      volumes: dataVolumes(svc),
      container: {
        name: svc,
        image: `${svc}:latest`,
        imagePullPolicy: 'IfNotPresent',
        ports: [{ name: 'http', containerPort: config.port, protocol: 'TCP' }],
        env: [
          { name: 'HOST', value: '0.0.0.0' },
          { name: 'PORT', value: String(config.port) },
        ],
        // Non-secret settings from the ConfigMap; SECRET_KEY, METRICS_TOKEN, AUDIT_KEY,
        // AUDIT_DB, DATABASE_URL (...) from a Secret the operator creates.
        envFrom: [{ configMapRef: { name: configName } }, { secretRef: { name: secretName } }],
        // Liveness never checks dependencies (a slow database must not restart every pod);
        // readiness does, and turns 503 during the shutdown drain.
        startupProbe: { ...httpGet('/healthz'), periodSeconds: 2, failureThreshold: 30 },
        livenessProbe: {
          ...httpGet('/healthz'),
          periodSeconds: 10,
          timeoutSeconds: 2,
          failureThreshold: 3,
        },
        readinessProbe: {
          ...httpGet('/readyz'),
          periodSeconds: 5,
          timeoutSeconds: 2,
          failureThreshold: 2,
        },
        // Endpoints are removed while this sleeps, so no new request reaches a stopping pod.
        lifecycle: { preStop: { exec: { command: ['sleep', String(SHUTDOWN_DELAY_S)] } } },
      },
    }),
  )
  files.set('pvc.yaml', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(`${svc}-data`),
    // Uploaded files are shared by every replica: a ReadWriteMany class (NFS, EFS, CephFS).
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } },
  } satisfies IPersistentVolumeClaim)
  files.set('service.yaml', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(svc),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'http', port: config.port, targetPort: 'http', protocol: 'TCP' }],
    },
  } satisfies IService)
  files.set('pdb.yaml', {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(svc),
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  } satisfies IPodDisruptionBudget)
  files.set('hpa.yaml', {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(svc),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: svc },
      minReplicas: 3,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    },
  } satisfies IHorizontalPodAutoscaler)
  const tcp = (port: number) => ({ protocol: 'TCP' as const, port })
  files.set('networkpolicy.yaml', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(svc),
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress', 'Egress'],
      // In: HTTP from the ingress controller's and the monitoring namespace, and this namespace.
      ingress: [
        {
          from: [
            { podSelector: {} },
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
              },
            },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ],
          ports: [{ protocol: 'TCP', port: 'http' }],
        },
      ],
      // Out: DNS, PostgreSQL, Redis and the collector's OTLP ports, nothing else.
      egress: [
        { ports: [{ protocol: 'UDP', port: 53 }, tcp(53)] },
        { ports: [tcp(5432), tcp(6379), tcp(4317), tcp(4318)] },
      ],
    },
  } satisfies INetworkPolicy)
  files.set('servicemonitor.yaml', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: meta(svc),
    spec: {
      // The job label is the Service's name, the `job` the generated rules select.
      selector: { matchLabels: selector },
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          interval: '15s',
          authorization: {
            type: 'Bearer',
            credentials: { name: secretName, key: 'METRICS_TOKEN' },
          },
        },
      ],
    },
  } satisfies IServiceMonitor)
  if (config.worker?.command !== undefined)
    for (const [name, manifest] of workerManifests(
      config,
      config.worker.command,
      config.worker.port,
    ))
      files.set(name, manifest)
  files.set('prometheusrule.yaml', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: meta(svc),
    spec: { groups: generateRules(config).groups },
  } satisfies IPrometheusRule)
  files.set('kustomization.yaml', {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...files.keys()],
    images: [{ name: `${svc}`, newName: svc, newTag: 'latest' }],
  })
  return files
}

/**
 * The worker process (`worker.command`: the image's CMD, run under its entrypoint): a Deployment with the service's
 * ConfigMap and Secret and the shared uploads volume, a Service naming the scrape job
 * `<service>-worker`, its ServiceMonitor, and a NetworkPolicy letting in only the monitoring
 * namespace on the worker port.
 */
function workerManifests(config: SloConfig, command: string[], port: number): Map<string, unknown> {
  const svc = config.service
  const name = `${svc}-worker`
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': svc }
  const selector = { 'app.kubernetes.io/name': name }
  const meta = { name, labels }
  const httpGet = (path: string) => ({ httpGet: { path, port: 'metrics' } })
  const files = new Map<string, unknown>()
  // Running jobs get the drain deadline to finish; the rest is put back by BullMQ.
  files.set(
    'worker-deployment.yaml',
    deployment({
      metadata: meta,
      replicas: 2,
      selector,
      labels,
      volumes: dataVolumes(svc),
      container: {
        name: 'worker',
        image: `${svc}:latest`,
        imagePullPolicy: 'IfNotPresent',
        // The image's CMD replaced; its entrypoint (tini, forwarding SIGTERM) kept.
        args: command,
        ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }],
        env: [{ name: 'WORKER_PORT', value: String(port) }],
        envFrom: [
          { configMapRef: { name: `${svc}-config` } },
          { secretRef: { name: `${svc}-secrets` } },
        ],
        livenessProbe: { ...httpGet('/healthz'), periodSeconds: 10, failureThreshold: 3 },
        readinessProbe: { ...httpGet('/readyz'), periodSeconds: 5, failureThreshold: 2 },
      },
    }),
  )
  files.set('worker-service.yaml', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta,
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'metrics', port, targetPort: 'metrics', protocol: 'TCP' }],
    },
  } satisfies IService)
  files.set('worker-servicemonitor.yaml', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: meta,
    spec: {
      selector: { matchLabels: selector },
      endpoints: [
        {
          port: 'metrics',
          path: '/metrics',
          interval: '15s',
          authorization: {
            type: 'Bearer',
            credentials: { name: `${svc}-secrets`, key: 'METRICS_TOKEN' },
          },
        },
      ],
    },
  } satisfies IServiceMonitor)
  files.set('worker-networkpolicy.yaml', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta,
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ],
          ports: [{ protocol: 'TCP', port: 'metrics' }],
        },
      ],
      egress: [
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        { ports: [5432, 6379, 4317, 4318].map((p) => ({ protocol: 'TCP' as const, port: p })) },
      ],
    },
  } satisfies INetworkPolicy)
  return files
}

/**
 * A Deployment of the service's image, the same skeleton for the app and the worker: hardened
 * pod (no service-account token, non-root, the grace period that covers the drain), the shared
 * data volumes, container limits and mounts added to the given container.
 */
function deployment(d: {
  metadata: { name: string; labels: Record<string, string> }
  replicas: number
  selector: Record<string, string>
  labels: Record<string, string>
  strategy?: NonNullable<IDeployment['spec']>['strategy']
  volumes: ReturnType<typeof dataVolumes>
  container: Record<string, unknown> & { name: string }
}): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: d.metadata,
    spec: {
      replicas: d.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: d.selector },
      ...(d.strategy === undefined ? {} : { strategy: d.strategy }),
      template: {
        metadata: { labels: d.labels },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: GRACE_S,
          securityContext: POD_SECURITY,
          containers: [{ ...d.container, ...CONTAINER_LIMITS, volumeMounts: DATA_MOUNTS }],
          volumes: d.volumes,
        },
      },
    },
  } satisfies IDeployment
}
