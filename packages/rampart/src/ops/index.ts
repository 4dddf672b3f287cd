export { generateOpsBundle, IMAGES } from './bundle.js'
export { type CheckOutcome, runChecks } from './smoke-check.js'
