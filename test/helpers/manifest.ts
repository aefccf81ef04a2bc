/**
 * Expected values that are wrong in the manifest, with the value asserted instead. For this file
 * the manifest contains the SeriesInstanceUID of an item of ReferencedSeriesSequence, the match
 * that `dcmdump +P 0020,000e` prints first, and not the top-level SeriesInstanceUID.
 */
export const manifestCorrections: Record<string, Record<string, string>> = {
  'single/liver_1frame.dcm': {
    SeriesInstanceUID: '1.2.276.0.7230010.3.1.3.0.42154.1458337731.665795',
  },
};

/**
 * Category of a skip reason: the short reasons as a whole, and `truncated: ...` and
 * `corrupt: ...` as one category, because a reader cannot always tell a cut file from a damaged
 * one (dcmtk reports a cut file as an I/O suspension, which the manifest files under corrupt).
 */
export function reasonCategory(reason: string): string {
  const head = reason.split(':')[0]?.trim() ?? '';
  return head === 'truncated' || head === 'corrupt' ? 'corrupt/truncated' : reason;
}

/** Manifest values with the corrections above applied. */
export function expectedValues(path: string, values: Record<string, string> | undefined) {
  return { ...values, ...manifestCorrections[path] };
}
