import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { listeningAirlock } from './airlock.js'
import { type RunningPrometheus, startPrometheus, until } from './prometheus.js'

const REPO_ROOT = new URL('../../../../', import.meta.url).pathname

/**
 * airlock listening on a free port, scraped by a real Prometheus that evaluates airlock's
 * committed rules (`ops/rules/airlock.rules.yml`); resolves after the first scrape.
 */
export async function airlockUnderPrometheus(prometheusBin: string) {
  const airlock = await listeningAirlock()
  const prom: RunningPrometheus = await startPrometheus(prometheusBin, {
    job: 'airlock',
    target: airlock.host,
    ruleFiles: [
      {
        name: 'airlock.rules.yml',
        text: readFileSync(join(REPO_ROOT, 'ops/rules/airlock.rules.yml'), 'utf8'),
      },
    ],
  })
  await until('the first scrape', async () =>
    (await prom.query('up{job="airlock"}'))[0] === 1 ? true : undefined,
  )
  return { airlock, prom }
}

/** The demo researcher's bearer header and a new draft request of theirs. */
export async function researcherDraft(
  url: string,
): Promise<{ auth: { authorization: string }; id: string }> {
  const tokenRes = await fetch(`${url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'researcher', password: 'airlock-demo' }),
  })
  if (tokenRes.status !== 201) throw new Error(`token: ${tokenRes.status}`)
  const auth = {
    authorization: `Bearer ${((await tokenRes.json()) as { token: string }).token}`,
  }
  const created = await fetch(`${url}/api/v1/requests`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Tables', direction: 'egress', justification: 'Paper' }),
  })
  if (created.status !== 201) throw new Error(`create: ${created.status}`)
  return { auth, id: ((await created.json()) as { id: string }).id }
}
