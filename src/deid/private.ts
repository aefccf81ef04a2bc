import type { DicomElement } from '../dicom/element-tree';
import type { SafePrivateAttribute } from './profile-config';

/** Private creator values of one data set, keyed by (group << 8) | block. */
export type PrivateCreators = ReadonlyMap<number, string>;

export function isPrivateTag(tag: number): boolean {
  return (tag >>> 16) % 2 === 1;
}

/** A Private Creator (gggg,0010) to (gggg,00FF) reserves the block named by its low byte. */
export function isPrivateCreator(tag: number): boolean {
  const element = tag & 0xffff;
  return isPrivateTag(tag) && element >= 0x10 && element <= 0xff;
}

/** Block key of a private data element (gggg,bbxx) or of the creator (gggg,00bb) reserving it. */
export function privateBlock(tag: number): number {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  const block = isPrivateCreator(tag) ? element : element >>> 8;
  return group * 0x100 + block;
}

/** Reads the Private Creator values of the elements of one data set (one level, no items). */
export function privateCreatorsOf(elements: DicomElement[]): PrivateCreators {
  const creators = new Map<number, string>();
  for (const element of elements) {
    if (!isPrivateCreator(element.tag) || !element.value) continue;
    const text = Buffer.from(element.value).toString('latin1').replace(/[\0 ]+$/, '').trim();
    creators.set(privateBlock(element.tag), text);
  }
  return creators;
}

/**
 * Returns the safe-list entry of a private data element, or undefined. A private data element
 * matches when its group, its element number within the block and the creator of its block match.
 */
export function safePrivateEntry(
  tag: number,
  creators: PrivateCreators,
  safeList: readonly SafePrivateAttribute[],
): SafePrivateAttribute | undefined {
  if (!isPrivateTag(tag) || isPrivateCreator(tag) || (tag & 0xffff) < 0x1000) return undefined;
  const creator = creators.get(privateBlock(tag));
  if (creator === undefined) return undefined;
  const group = tag >>> 16;
  const element = tag & 0xff;
  return safeList.find(
    (entry) => entry.group === group && entry.element === element && entry.creator === creator,
  );
}
