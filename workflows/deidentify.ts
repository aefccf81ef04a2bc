import { continueAsNew, log, patched, proxyActivities } from '@temporalio/workflow';
// Type-only import: workflow code must not load activity modules, which use Node APIs.
import type { Activities } from '../activities';
import { DEFAULT_HISTORY_THRESHOLD, checkPositiveInteger, historyFull } from './history';
import { ranges, runPool, runPoolUntil } from './pool';
import type { DeidentifyBatchInput, DeidentifyResult } from './types';

const { countDeliveryImages, deidentifyImages, deidentifyPageBounds, deidentifySummary } =
  proxyActivities<Activities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });

/**
 * Patch marking executions that page by image id and continue as new. Executions started before
 * it replay the offset pages they recorded.
 */
export const KEYED_PAGES_PATCH = 'deidentify-keyed-pages';

/** Pages whose bounds one `deidentifyPageBounds` call returns, at most. */
const BOUNDS_PAGES = 100;

/** Image ids one `deidentifyPageBounds` call may read; matches the activity's own limit. */
const MAX_BOUNDS_IMAGES = 100_000;

/**
 * Writes a de-identified copy of every image of one delivery to DEID_DIR, page by page in image
 * id order. Once the history passes the threshold, a run lets its running pages finish and
 * continues as new after the last image id done.
 */
export async function deidentifyWorkflow(input: DeidentifyBatchInput): Promise<DeidentifyResult> {
  const ref = { batchId: input.batchId, deliveryId: input.deliveryId };
  if (!patched(KEYED_PAGES_PATCH)) return deidentifyByOffset(input);

  for (const field of ['chunkSize', 'concurrency', 'historyThreshold'] as const) {
    checkPositiveInteger('deidentifyWorkflow', field, input[field]);
  }
  const pageSize = input.chunkSize ?? 100;
  const threshold = input.historyThreshold ?? DEFAULT_HISTORY_THRESHOLD;
  const pagesPerCall = Math.max(1, Math.min(BOUNDS_PAGES, Math.floor(MAX_BOUNDS_IMAGES / pageSize)));
  let after = input.afterImageId ?? 0;

  for (;;) {
    const bounds = await deidentifyPageBounds.executeWithOptions(
      { summary: `Find pages of ${pageSize} images after image ${after}` },
      [{ deliveryId: input.deliveryId, afterImageId: after, pageSize, pages: pagesPerCall }],
    );
    // Page i contains the images after the bound of page i - 1, up to and including its own bound.
    const pages = bounds.map((through, index): [number, number] => [
      index === 0 ? after : (bounds[index - 1] as number),
      through,
    ]);
    const started = await runPoolUntil(
      pages,
      input.concurrency ?? 2,
      ([from, through]) =>
        deidentifyImages.executeWithOptions(
          { summary: `De-identify images with id ${from + 1} to ${through}` },
          [{ ...ref, afterImageId: from, throughImageId: through }],
        ),
      () => historyFull(threshold),
    );
    if (started > 0) after = pages[started - 1]?.[1] ?? after;

    const lastCall = bounds.length < pagesPerCall;
    if (lastCall && started === pages.length) break;
    if (started < pages.length || historyFull(threshold)) {
      log.info('deidentify continuing as new', { ...ref, afterImageId: after });
      return continueAsNew<typeof deidentifyWorkflow>({ ...input, afterImageId: after });
    }
  }
  return deidentifySummary(ref);
}

/** De-identifies in offset pages and one run, as executions started before KEYED_PAGES_PATCH do. */
async function deidentifyByOffset(input: DeidentifyBatchInput): Promise<DeidentifyResult> {
  const total = await countDeliveryImages(input);
  const pages = ranges(total, input.chunkSize ?? 100);
  await runPool(pages, input.concurrency ?? 2, ([offset, end]) =>
    deidentifyImages({ batchId: input.batchId, deliveryId: input.deliveryId, offset, limit: end - offset }),
  );
  return deidentifySummary(input);
}
