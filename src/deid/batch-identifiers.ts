import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { addKnownValue, emptyIdentifiers, type Identifiers } from './identifiers';

interface IdentifierRow {
  PatientID: string;
  PatientName: string;
  AccessionNumber: string;
  StudyDate: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SOPInstanceUID: string;
}

/**
 * Reads the identifiers that the database holds for every image of a delivery: patient names and
 * IDs, accession numbers, study dates and the study, series and instance UIDs. The scan of each
 * output searches these next to the identifiers of the image's own header.
 */
export async function batchIdentifiers(db: Database, deliveryId: number): Promise<Identifiers> {
  const result = await db.execute(sql`
    select st.patient_id as "PatientID", st.patient_name as "PatientName",
      st.accession_number as "AccessionNumber", st.study_date as "StudyDate",
      st.study_instance_uid as "StudyInstanceUID", se.series_instance_uid as "SeriesInstanceUID",
      i.sop_instance_uid as "SOPInstanceUID"
    from images i
    join series se on se.id = i.series_id
    join studies st on st.id = se.study_id
    where i.id in (
      select image_id from delivery_files
      where delivery_id = ${deliveryId} and status in ('imported', 'duplicate')
    )
  `);
  const rows = Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
  const identifiers = emptyIdentifiers();
  for (const row of rows as IdentifierRow[]) {
    for (const [kind, value] of Object.entries(row)) {
      if (typeof value === 'string' && value !== '') addKnownValue(identifiers, kind, value);
    }
  }
  return identifiers;
}
