export { importBatchWorkflow, progressQuery } from './import-batch';
export { deidentifyWorkflow } from './deidentify';
