import { proxyActivities } from '@temporalio/workflow';
// Type-only import: workflow code must not load activity modules, which use Node APIs.
import type { Activities } from '../activities';
import { ranges, runPool } from './pool';
import type { DeidentifyBatchInput, DeidentifyResult } from './types';

const { countDeliveryImages, deidentifyImages, deidentifySummary } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Writes a de-identified copy of every image of one delivery to DEID_DIR, page by page. */
export async function deidentifyWorkflow(input: DeidentifyBatchInput): Promise<DeidentifyResult> {
  const total = await countDeliveryImages(input);
  const pages = ranges(total, input.chunkSize ?? 100);
  await runPool(pages, input.concurrency ?? 2, ([offset, end]) =>
    deidentifyImages({ batchId: input.batchId, deliveryId: input.deliveryId, offset, limit: end - offset }),
  );
  return deidentifySummary(input);
}
