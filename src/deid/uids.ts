import { createHmac } from 'node:crypto';

/** UIDs under this root are defined by the DICOM standard (SOP classes, transfer syntaxes). */
export const DICOM_UID_ROOT = '1.2.840.10008.';

/**
 * Maps an original UID to `2.25.<decimal>` derived with HMAC-SHA-256 under `secret` (first 128
 * bits, as an unsigned integer). The same input and secret always give the same output, and the
 * original cannot be recovered without the secret. Trailing NUL and space padding is ignored.
 */
export function mapUid(uid: string, secret: Buffer): string {
  const digest = createHmac('sha256', secret).update(trimUid(uid), 'ascii').digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString()}`;
}

/** Returns true for UIDs that identify nothing about a patient, such as SOP class UIDs. */
export function isStandardUid(uid: string): boolean {
  return trimUid(uid).startsWith(DICOM_UID_ROOT);
}

function trimUid(uid: string): string {
  return uid.replace(/[\0 ]+$/, '').trim();
}
