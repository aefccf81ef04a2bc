CREATE TABLE "batch_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" integer NOT NULL,
	"delivery_id" integer,
	"level" text NOT NULL,
	"code" text NOT NULL,
	"path" text,
	"message" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "batches" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'NEW' NOT NULL,
	"has_error" boolean DEFAULT false NOT NULL,
	"workflow_id" text,
	"delivery_count" integer DEFAULT 0 NOT NULL,
	"file_count" integer DEFAULT 0 NOT NULL,
	"image_count" integer DEFAULT 0 NOT NULL,
	"series_count" integer DEFAULT 0 NOT NULL,
	"study_count" integer DEFAULT 0 NOT NULL,
	"byte_count" bigint DEFAULT 0 NOT NULL,
	"warning_count" integer DEFAULT 0 NOT NULL,
	"error_count" integer DEFAULT 0 NOT NULL,
	"duplicate_count" integer DEFAULT 0 NOT NULL,
	"conflict_count" integer DEFAULT 0 NOT NULL,
	"skipped_count" integer DEFAULT 0 NOT NULL,
	"failed_count" integer DEFAULT 0 NOT NULL,
	"deidentified_count" integer DEFAULT 0 NOT NULL,
	"held_back_count" integer DEFAULT 0 NOT NULL,
	"first_study_date" text,
	"last_study_date" text,
	"started_at" timestamp with time zone,
	"imported_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "batches_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "conflicts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" integer NOT NULL,
	"image_id" bigint NOT NULL,
	"sop_instance_uid" text NOT NULL,
	"source_path" text NOT NULL,
	"kept_path" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deid_images" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"image_id" bigint NOT NULL,
	"batch_id" integer NOT NULL,
	"patient_id" integer,
	"status" text NOT NULL,
	"reason" text,
	"path" text,
	"sop_instance_uid" text,
	"size" bigint,
	"sha256" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deid_images_image_id_unique" UNIQUE("image_id")
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" serial PRIMARY KEY NOT NULL,
	"batch_id" integer NOT NULL,
	"key" text NOT NULL,
	"folder_path" text NOT NULL,
	"listed" boolean DEFAULT false NOT NULL,
	"file_count" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "deliveries_key_unique" UNIQUE("key")
);
--> statement-breakpoint
CREATE TABLE "delivery_files" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"delivery_id" integer NOT NULL,
	"ordinal" integer NOT NULL,
	"relative_path" text NOT NULL,
	"size" bigint NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"reason" text,
	"image_id" bigint,
	"sha256" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "images" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"series_id" integer NOT NULL,
	"batch_id" integer NOT NULL,
	"sop_instance_uid" text NOT NULL,
	"sop_class_uid" text NOT NULL,
	"instance_number" text NOT NULL,
	"transfer_syntax_uid" text NOT NULL,
	"number_of_frames" text NOT NULL,
	"burned_in_annotation" text NOT NULL,
	"encoding" text NOT NULL,
	"source_path" text NOT NULL,
	"media_path" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "images_sop_instance_uid_unique" UNIQUE("sop_instance_uid")
);
--> statement-breakpoint
CREATE TABLE "patients" (
	"id" serial PRIMARY KEY NOT NULL,
	"patient_id" text NOT NULL,
	"issuer_of_patient_id" text DEFAULT '' NOT NULL,
	"pseudonym" text NOT NULL,
	"date_offset_days" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "patients_pseudonym_unique" UNIQUE("pseudonym")
);
--> statement-breakpoint
CREATE TABLE "series" (
	"id" serial PRIMARY KEY NOT NULL,
	"study_id" integer NOT NULL,
	"series_instance_uid" text NOT NULL,
	"modality" text NOT NULL,
	"series_number" text NOT NULL,
	"series_description" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "series_series_instance_uid_unique" UNIQUE("series_instance_uid")
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "studies" (
	"id" serial PRIMARY KEY NOT NULL,
	"study_instance_uid" text NOT NULL,
	"accession_number" text NOT NULL,
	"study_date" text NOT NULL,
	"study_time" text NOT NULL,
	"study_description" text NOT NULL,
	"patient_id" text NOT NULL,
	"patient_name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "studies_study_instance_uid_unique" UNIQUE("study_instance_uid")
);
--> statement-breakpoint
ALTER TABLE "batch_messages" ADD CONSTRAINT "batch_messages_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "batch_messages" ADD CONSTRAINT "batch_messages_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conflicts" ADD CONSTRAINT "conflicts_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deid_images" ADD CONSTRAINT "deid_images_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deid_images" ADD CONSTRAINT "deid_images_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deid_images" ADD CONSTRAINT "deid_images_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_files" ADD CONSTRAINT "delivery_files_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_series_id_series_id_fk" FOREIGN KEY ("series_id") REFERENCES "public"."series"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "series" ADD CONSTRAINT "series_study_id_studies_id_fk" FOREIGN KEY ("study_id") REFERENCES "public"."studies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "batch_messages_batch" ON "batch_messages" USING btree ("batch_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "batch_messages_once" ON "batch_messages" USING btree ("delivery_id","code","path") WHERE "batch_messages"."delivery_id" is not null and "batch_messages"."path" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "conflicts_sop_sha" ON "conflicts" USING btree ("sop_instance_uid","sha256");--> statement-breakpoint
CREATE INDEX "deid_images_batch" ON "deid_images" USING btree ("batch_id");--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_files_delivery_ordinal" ON "delivery_files" USING btree ("delivery_id","ordinal");--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_files_delivery_path" ON "delivery_files" USING btree ("delivery_id","relative_path");--> statement-breakpoint
CREATE INDEX "delivery_files_pending" ON "delivery_files" USING btree ("delivery_id","status");--> statement-breakpoint
CREATE INDEX "images_batch" ON "images" USING btree ("batch_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "patients_identity" ON "patients" USING btree ("patient_id","issuer_of_patient_id");