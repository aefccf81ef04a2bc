import { and, asc, eq, type SQL } from 'drizzle-orm';
import { openDatabaseForCommand } from '../db/open';
import { patients } from '../db/schema';
import { printTable } from './batches';
import type { CommandContext } from './runtime';

export interface PseudonymFilter {
  patientId?: string;
  pseudonym?: string;
  json?: boolean;
}

export interface PseudonymRow {
  PatientID: string;
  IssuerOfPatientID: string;
  pseudonym: string;
  dateOffsetDays: number;
  createdAt: string;
}

/**
 * Prints the mapping from original patient identity to pseudonym and date offset. The output
 * contains original PatientIDs: only a user with access to the database can run it, and nothing
 * of it is logged.
 */
export async function runPseudonyms(
  { config }: CommandContext,
  filter: PseudonymFilter,
): Promise<void> {
  const database = await openDatabaseForCommand(config);
  try {
    const conditions: SQL[] = [];
    if (filter.patientId !== undefined) conditions.push(eq(patients.PatientID, filter.patientId));
    if (filter.pseudonym !== undefined) conditions.push(eq(patients.pseudonym, filter.pseudonym));
    const rows: PseudonymRow[] = (
      await database.db
        .select()
        .from(patients)
        .where(and(...conditions))
        .orderBy(asc(patients.id))
    ).map((row) => ({
      PatientID: row.PatientID,
      IssuerOfPatientID: row.IssuerOfPatientID,
      pseudonym: row.pseudonym,
      dateOffsetDays: row.dateOffsetDays,
      createdAt: row.createdAt.toISOString(),
    }));

    if (filter.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const header = ['PatientID', 'IssuerOfPatientID', 'pseudonym', 'date offset (days)', 'created'];
    const lines = rows.map((row) => [
      row.PatientID,
      row.IssuerOfPatientID,
      row.pseudonym,
      String(row.dateOffsetDays),
      row.createdAt,
    ]);
    printTable([header, ...lines]);
  } finally {
    await database.close();
  }
}
