import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const BATCH_STATUSES = [
  'NEW',
  'PROCESSING',
  'DEIDENTIFYING',
  'DONE',
  'EMPTY',
  'ERROR',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** One finished folder; its name is the batch's unique key across deliveries. */
export const batches = pgTable('batches', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  status: text('status').$type<BatchStatus>().notNull().default('NEW'),
  hasError: boolean('has_error').notNull().default(false),
  workflowId: text('workflow_id'),
  deliveryCount: integer('delivery_count').notNull().default(0),
  fileCount: integer('file_count').notNull().default(0),
  imageCount: integer('image_count').notNull().default(0),
  seriesCount: integer('series_count').notNull().default(0),
  studyCount: integer('study_count').notNull().default(0),
  byteCount: bigint('byte_count', { mode: 'number' }).notNull().default(0),
  warningCount: integer('warning_count').notNull().default(0),
  errorCount: integer('error_count').notNull().default(0),
  duplicateCount: integer('duplicate_count').notNull().default(0),
  conflictCount: integer('conflict_count').notNull().default(0),
  skippedCount: integer('skipped_count').notNull().default(0),
  failedCount: integer('failed_count').notNull().default(0),
  deidentifiedCount: integer('deidentified_count').notNull().default(0),
  heldBackCount: integer('held_back_count').notNull().default(0),
  firstStudyDate: text('first_study_date'),
  lastStudyDate: text('last_study_date'),
  startedAt: timestamp('started_at', { withTimezone: true }),
  importedAt: timestamp('imported_at', { withTimezone: true }),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
  durationMs: integer('duration_ms'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One delivery of a batch: a single arrival of the folder. The key ties activity retries and workflow
 * resets of one import to the same row.
 */
export const deliveries = pgTable('deliveries', {
  id: serial('id').primaryKey(),
  batchId: integer('batch_id')
    .notNull()
    .references(() => batches.id),
  key: text('key').notNull().unique(),
  folderPath: text('folder_path').notNull(),
  listed: boolean('listed').notNull().default(false),
  fileCount: integer('file_count').notNull().default(0),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
});

export const FILE_STATUSES = [
  'pending',
  'imported',
  'duplicate',
  'conflict',
  'skipped',
  'failed',
] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/** Every file found in a delivery, with what became of it. */
export const deliveryFiles = pgTable(
  'delivery_files',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: integer('delivery_id')
      .notNull()
      .references(() => deliveries.id),
    ordinal: integer('ordinal').notNull(),
    relativePath: text('relative_path').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    status: text('status').$type<FileStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    reason: text('reason'),
    imageId: bigint('image_id', { mode: 'number' }),
    sha256: text('sha256'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('delivery_files_delivery_ordinal').on(table.deliveryId, table.ordinal),
    uniqueIndex('delivery_files_delivery_path').on(table.deliveryId, table.relativePath),
    index('delivery_files_pending').on(table.deliveryId, table.status),
    // Pages of a delivery's images by key (`image_id > last`) and same-delivery duplicate checks.
    index('delivery_files_delivery_image').on(table.deliveryId, table.imageId),
  ],
);

export const studies = pgTable('studies', {
  id: serial('id').primaryKey(),
  StudyInstanceUID: text('study_instance_uid').notNull().unique(),
  AccessionNumber: text('accession_number').notNull(),
  StudyDate: text('study_date').notNull(),
  StudyTime: text('study_time').notNull(),
  StudyDescription: text('study_description').notNull(),
  PatientID: text('patient_id').notNull(),
  PatientName: text('patient_name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One DICOM series, the level the earlier system called a session. */
export const series = pgTable('series', {
  id: serial('id').primaryKey(),
  studyId: integer('study_id')
    .notNull()
    .references(() => studies.id),
  SeriesInstanceUID: text('series_instance_uid').notNull().unique(),
  Modality: text('modality').notNull(),
  SeriesNumber: text('series_number').notNull(),
  SeriesDescription: text('series_description').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const images = pgTable(
  'images',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    seriesId: integer('series_id')
      .notNull()
      .references(() => series.id),
    batchId: integer('batch_id')
      .notNull()
      .references(() => batches.id),
    SOPInstanceUID: text('sop_instance_uid').notNull().unique(),
    SOPClassUID: text('sop_class_uid').notNull(),
    InstanceNumber: text('instance_number').notNull(),
    TransferSyntaxUID: text('transfer_syntax_uid').notNull(),
    NumberOfFrames: text('number_of_frames').notNull(),
    BurnedInAnnotation: text('burned_in_annotation').notNull(),
    encoding: text('encoding').notNull(),
    sourcePath: text('source_path').notNull(),
    mediaPath: text('media_path').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('images_batch').on(table.batchId, table.id)],
);

/** A file whose SOPInstanceUID is already stored with other bytes; its copy is kept aside. */
export const conflicts = pgTable(
  'conflicts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: integer('batch_id')
      .notNull()
      .references(() => batches.id),
    imageId: bigint('image_id', { mode: 'number' }).notNull(),
    SOPInstanceUID: text('sop_instance_uid').notNull(),
    sourcePath: text('source_path').notNull(),
    keptPath: text('kept_path').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('conflicts_sop_sha').on(table.SOPInstanceUID, table.sha256)],
);

export type MessageLevel = 'warning' | 'error';

/** Warnings and errors of a batch, each naming the file (relative to the folder) and the reason. */
export const batchMessages = pgTable(
  'batch_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: integer('batch_id')
      .notNull()
      .references(() => batches.id),
    deliveryId: integer('delivery_id').references(() => deliveries.id),
    level: text('level').$type<MessageLevel>().notNull(),
    code: text('code').notNull(),
    path: text('path'),
    message: text('message').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('batch_messages_batch').on(table.batchId, table.id),
    uniqueIndex('batch_messages_once')
      .on(table.deliveryId, table.code, table.path)
      .where(sql`${table.deliveryId} is not null and ${table.path} is not null`),
  ],
);

/** One stable pseudonym and date offset per original PatientID and issuer. */
export const patients = pgTable(
  'patients',
  {
    id: serial('id').primaryKey(),
    PatientID: text('patient_id').notNull(),
    IssuerOfPatientID: text('issuer_of_patient_id').notNull().default(''),
    pseudonym: text('pseudonym').notNull().unique(),
    dateOffsetDays: integer('date_offset_days').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('patients_identity').on(table.PatientID, table.IssuerOfPatientID)],
);

export const deidImages = pgTable(
  'deid_images',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    imageId: bigint('image_id', { mode: 'number' })
      .notNull()
      .unique()
      .references(() => images.id),
    batchId: integer('batch_id')
      .notNull()
      .references(() => batches.id),
    patientId: integer('patient_id').references(() => patients.id),
    status: text('status').$type<'released' | 'held' | 'failed'>().notNull(),
    reason: text('reason'),
    path: text('path'),
    SOPInstanceUID: text('sop_instance_uid'),
    size: bigint('size', { mode: 'number' }),
    sha256: text('sha256'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('deid_images_batch').on(table.batchId)],
);

/** Key-value settings the product creates once, such as the UID mapping secret. */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
});
