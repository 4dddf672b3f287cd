export { ALERT_DOCS, type AlertDoc } from './alerts.js'
export { dashboardExpressions, generateDashboard } from './dashboard.js'
export { type GrafanaDashboard, grafanaDashboardSchema } from './dashboard-schema.js'
export { CONFIG_FILES, loadConfig } from './load-config.js'
export {
  defineConfig,
  errorBudget,
  type LatencySlo,
  parseConfig,
  type Slo,
  type SloConfig,
  type SloConfigInput,
} from './options.js'
export { generateRuleTests, renderRuleTests } from './rule-tests.js'
export {
  type GeneratedRules,
  generateRules,
  type Rule,
  type RuleGroup,
  renderRules,
  sloTiers,
} from './rules.js'
export { renderRunbook } from './runbook.js'
export { BURN_TIERS, type BurnTier, burnFactor } from './windows.js'
