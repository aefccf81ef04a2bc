import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const hex = (digits: number) => z.string().regex(new RegExp(`^[0-9A-Fa-f]{${digits}}$`));

const optionsSchema = z.strictObject({
  retainLongitudinalTemporalInformationModifiedDates: z.boolean(),
  retainPatientCharacteristics: z.boolean(),
  retainDeviceIdentity: z.boolean(),
  retainSafePrivate: z.boolean(),
  cleanDescriptors: z.boolean(),
});

const safePrivateSchema = z.strictObject({
  /** Private Creator value (gggg,00xx) that reserves the block, compared without padding. */
  creator: z.string().min(1).max(64),
  /** Odd group, four hex digits. */
  group: hex(4).refine((group) => parseInt(group, 16) % 2 === 1, 'a private group is odd'),
  /** Element number within the private block (the low byte xx of gggg,bbxx), two hex digits. */
  element: hex(2),
  keyword: z.string().min(1),
});

const profileSchema = z.strictObject({
  /** Version of these rules, recorded in every output's DeidentificationMethod. */
  version: z.string().regex(/^[\x21-\x5b\x5d-\x7e]{1,16}$/, '1 to 16 printable ASCII characters'),
  options: optionsSchema,
  /**
   * Shifts PatientBirthDate with the other dates instead of emptying it. Table E.1-1 lists no
   * option that keeps it, so turning this on goes beyond the standard profile.
   */
  shiftPatientBirthDate: z.boolean(),
  safePrivate: z.array(safePrivateSchema),
  burnedIn: z.strictObject({
    sopClasses: z.array(
      z.strictObject({ uid: z.string().regex(/^[0-9.]{1,64}$/), name: z.string() }),
    ),
    modalities: z.array(z.string().regex(/^[A-Z0-9 _]{1,16}$/)),
  }),
});

export type DeidOptions = z.infer<typeof optionsSchema>;

/** One private attribute that Retain Safe Private keeps, with its parsed numbers. */
export interface SafePrivateAttribute {
  creator: string;
  group: number;
  element: number;
  keyword: string;
}

/** The de-identification rules of one deployment, read from a versioned JSON file. */
export interface DeidProfile {
  version: string;
  options: DeidOptions;
  shiftPatientBirthDate: boolean;
  safePrivate: SafePrivateAttribute[];
  burnedInSopClasses: ReadonlySet<string>;
  burnedInModalities: ReadonlySet<string>;
}

/** The profile file shipped with the product, `config/deid-profile.json` at the project root. */
export function defaultProfileFile(): string {
  // The same file is found from src/deid (tsx) and from dist/src/deid (compiled).
  for (const up of [['..', '..'], ['..', '..', '..']]) {
    const candidate = path.resolve(__dirname, ...up, 'config', 'deid-profile.json');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    `de-identification profile config/deid-profile.json not found above ${__dirname}`,
  );
}

/** Reads and validates a profile file. Throws an Error naming the file and each invalid field. */
export function loadDeidProfile(file: string = defaultProfileFile()): DeidProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read de-identification profile ${file}: ${(error as Error).message}`);
  }
  return parseDeidProfile(raw, file);
}

/** Validates a profile given as a value; `source` names it in error messages. */
export function parseDeidProfile(raw: unknown, source: string): DeidProfile {
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`invalid de-identification profile ${source}: ${problems.join('; ')}`);
  }
  const value = parsed.data;
  return {
    version: value.version,
    options: value.options,
    shiftPatientBirthDate: value.shiftPatientBirthDate,
    safePrivate: value.safePrivate.map((entry) => ({
      creator: entry.creator.trim(),
      group: parseInt(entry.group, 16),
      element: parseInt(entry.element, 16),
      keyword: entry.keyword,
    })),
    burnedInSopClasses: new Set(value.burnedIn.sopClasses.map((entry) => entry.uid)),
    burnedInModalities: new Set(value.burnedIn.modalities),
  };
}
