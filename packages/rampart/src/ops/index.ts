export { generateOpsBundle } from './bundle.js'
export { IMAGES } from './images.js'
export { type CheckOutcome, runChecks } from './smoke-check.js'
