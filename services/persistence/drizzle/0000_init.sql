CREATE SCHEMA IF NOT EXISTS "persistence";
--> statement-breakpoint
CREATE TABLE "persistence"."conversation_seqs" (
	"conversation_id" uuid PRIMARY KEY NOT NULL,
	"last_seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "persistence"."member_sets" (
	"conversation_id" uuid PRIMARY KEY NOT NULL,
	"synced_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "persistence"."members" (
	"conversation_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	CONSTRAINT "members_conversation_id_user_id_pk" PRIMARY KEY("conversation_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "persistence"."messages" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"conversation_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"sender_id" uuid NOT NULL,
	"client_msg_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"body" text,
	"encrypted" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"stored_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_kind_payload_ck" CHECK ((kind = 'text' and body is not null and encrypted is null) or (kind = 'encrypted' and encrypted is not null and body is null))
);
--> statement-breakpoint
CREATE TABLE "persistence"."read_markers" (
	"conversation_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"message_id" text COLLATE "C" NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "read_markers_conversation_id_user_id_pk" PRIMARY KEY("conversation_id","user_id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "messages_sender_client_msg_uq" ON "persistence"."messages" USING btree ("sender_id","client_msg_id");--> statement-breakpoint
CREATE INDEX "messages_conversation_id_idx" ON "persistence"."messages" USING btree ("conversation_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_conversation_seq_uq" ON "persistence"."messages" USING btree ("conversation_id","seq");