import type { DeidProfile } from './profile-config';

export interface BurnedInInput {
  /** BurnedInAnnotation (0028,0301) as written, or '' when the attribute is absent. */
  BurnedInAnnotation: string;
  SOPClassUID: string;
  Modality: string;
}

/**
 * Returns why an image may carry burned-in text and must not be released, or undefined. YES always
 * holds the image back and NO releases it; without the attribute, a SOP class or modality that
 * the profile lists as likely to carry burned-in text holds it back.
 */
export function burnedInReason(image: BurnedInInput, profile: DeidProfile): string | undefined {
  const flag = image.BurnedInAnnotation.trim().toUpperCase();
  if (flag === 'YES') return 'BurnedInAnnotation is YES';
  if (flag === 'NO') return undefined;

  const absent = 'and BurnedInAnnotation is absent';
  if (profile.burnedInSopClasses.has(image.SOPClassUID)) {
    return `SOP class ${image.SOPClassUID} often carries burned-in text ${absent}`;
  }
  const modality = image.Modality.trim().toUpperCase();
  if (profile.burnedInModalities.has(modality)) {
    return `modality ${modality} often carries burned-in text ${absent}`;
  }
  return undefined;
}
