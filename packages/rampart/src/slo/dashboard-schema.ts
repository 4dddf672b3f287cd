import { z } from 'zod'

/**
 * The fields Grafana (10.x–12.x, classic dashboard model) needs to import and provision a
 * dashboard, as a zod schema. Grafana publishes its dashboard schema as CUE kinds and TypeScript
 * types, not as a JSON schema on npm, so this focused schema checks what a broken generator
 * would get wrong: uid format, unique panel ids, grid bounds, datasource references, unique
 * refIds and threshold steps.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: compose/Grafana variables, not JS templates
const datasourceRef = z.object({ type: z.literal('prometheus'), uid: z.literal('${datasource}') })

const thresholds = z.object({
  mode: z.enum(['absolute', 'percentage']),
  steps: z
    .array(z.object({ color: z.string().min(1), value: z.number().nullable() }))
    .min(1)
    .refine((s) => s[0]?.value === null, 'the first threshold step is the base colour (value null)')
    .refine(
      (s) =>
        s.slice(1).every((x, i) => x.value !== null && (i === 0 || (s[i]?.value ?? 0) <= x.value)),
      'threshold steps after the first ascend',
    ),
})

const panel = z.object({
  id: z.number().int().positive(),
  type: z.enum(['timeseries', 'stat', 'gauge', 'row', 'text', 'table', 'bargauge']),
  title: z.string().min(1),
  description: z.string().optional(),
  gridPos: z
    .object({
      x: z.number().int().min(0),
      y: z.number().int().min(0),
      w: z.number().int().min(1),
      h: z.number().int().min(1),
    })
    .refine((g) => g.x + g.w <= 24, 'a panel must fit the 24-column grid'),
  datasource: datasourceRef.optional(),
  targets: z
    .array(
      z.object({
        refId: z.string().regex(/^[A-Z]+$/),
        expr: z.string().min(1),
        legendFormat: z.string().optional(),
        instant: z.boolean().optional(),
        exemplar: z.boolean().optional(),
        datasource: datasourceRef,
      }),
    )
    .refine(
      (t) => new Set(t.map((x) => x.refId)).size === t.length,
      'refIds must be unique within a panel',
    )
    .optional(),
  fieldConfig: z
    .object({
      defaults: z
        .object({ unit: z.string().optional(), thresholds: thresholds.optional() })
        .loose(),
      overrides: z.array(z.unknown()),
    })
    .optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  collapsed: z.boolean().optional(),
  panels: z.array(z.unknown()).optional(),
})

export const grafanaDashboardSchema = z
  .object({
    uid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'uid: at most 40 of [A-Za-z0-9_-]'),
    title: z.string().min(1),
    schemaVersion: z.number().int().min(36),
    version: z.number().int().min(0),
    editable: z.boolean(),
    tags: z.array(z.string()),
    time: z.object({ from: z.string(), to: z.string() }),
    refresh: z.string(),
    timezone: z.string(),
    templating: z.object({
      list: z
        .array(
          z
            .object({
              name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
              type: z.enum(['datasource', 'query', 'custom', 'constant', 'interval']),
            })
            .loose(),
        )
        .refine(
          (l) => l.some((v) => v.name === 'datasource' && v.type === 'datasource'),
          'needs a "datasource" variable of type datasource',
        ),
    }),
    annotations: z.object({ list: z.array(z.unknown()) }),
    panels: z.array(panel).min(1),
  })
  .superRefine((d, ctx) => {
    const ids = d.panels.map((p) => p.id)
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: 'custom', path: ['panels'], message: 'panel ids must be unique' })
  })

export type GrafanaDashboard = z.infer<typeof grafanaDashboardSchema>
