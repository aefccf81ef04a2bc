/**
 * Workflow id of a batch's import. Folder names are percent-encoded, so any name (spaces, quotes,
 * control characters) gives a valid, printable id, and the same name always gives the same id.
 */
export function importWorkflowId(batchName: string): string {
  return `import:${encodeURIComponent(batchName)}`;
}

/** Inverse of importWorkflowId; undefined for ids of other workflows. */
export function batchNameFromWorkflowId(workflowId: string): string | undefined {
  if (!workflowId.startsWith('import:') || workflowId.includes('/')) return undefined;
  return decodeURIComponent(workflowId.slice('import:'.length));
}
