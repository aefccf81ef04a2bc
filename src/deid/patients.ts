import { randomBytes, randomInt } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { patients, settings } from '../db/schema';

export interface PatientPseudonym {
  id: number;
  pseudonym: string;
  dateOffsetDays: number;
}

/**
 * Returns the pseudonym and date offset of a patient, creating them on first sight. The mapping lives
 * only in the `patients` table. The offset is a whole number of days in [-maxDays, -1] ∪ [1, maxDays],
 * so intervals between a patient's dates are kept and no date stays unchanged.
 */
export async function pseudonymFor(
  db: Database,
  PatientID: string,
  IssuerOfPatientID: string,
  maxDays: number,
): Promise<PatientPseudonym> {
  const where = and(eq(patients.PatientID, PatientID), eq(patients.IssuerOfPatientID, IssuerOfPatientID));
  const [found] = await db.select().from(patients).where(where);
  if (found) return found;

  const magnitude = maxDays > 0 ? randomInt(1, maxDays + 1) : 0;
  const dateOffsetDays = randomInt(2) === 0 ? -magnitude : magnitude;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const pseudonym = `ANON${randomBytes(5).toString('hex').toUpperCase()}`;
    const [created] = await db
      .insert(patients)
      .values({ PatientID, IssuerOfPatientID, pseudonym, dateOffsetDays })
      .onConflictDoNothing()
      .returning();
    if (created) return created;
    const [raced] = await db.select().from(patients).where(where);
    if (raced) return raced;
  }
  throw new Error('no unique pseudonym found after 5 attempts');
}

const UID_SECRET_KEY = 'uid-secret';

/**
 * Returns the secret behind the UID mapping: DEID_SECRET when set, else a random key created once and
 * kept in the database, so new UIDs stay the same across batches and restarts.
 */
export async function uidSecret(db: Database, configured: string | undefined): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  const [found] = await db.select().from(settings).where(eq(settings.key, UID_SECRET_KEY));
  if (found) return Buffer.from(found.value as string, 'base64');
  await db
    .insert(settings)
    .values({ key: UID_SECRET_KEY, value: randomBytes(32).toString('base64') })
    .onConflictDoNothing();
  const [stored] = await db.select().from(settings).where(eq(settings.key, UID_SECRET_KEY));
  if (!stored) throw new Error('UID secret neither inserted nor found');
  return Buffer.from(stored.value as string, 'base64');
}
