CREATE TABLE "accounts"."e2e_commits" (
	"conversation_id" uuid NOT NULL,
	"epoch" bigint NOT NULL,
	"commit" text NOT NULL,
	"sender_user_id" uuid,
	"sender_device_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "e2e_commits_conversation_id_epoch_pk" PRIMARY KEY("conversation_id","epoch")
);
--> statement-breakpoint
CREATE TABLE "accounts"."e2e_groups" (
	"conversation_id" uuid PRIMARY KEY NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "accounts"."e2e_key_packages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"device_id" text NOT NULL,
	"key_package" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "accounts"."e2e_welcomes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"device_id" text NOT NULL,
	"conversation_id" uuid NOT NULL,
	"epoch" bigint NOT NULL,
	"welcome" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "accounts"."e2e_commits" ADD CONSTRAINT "e2e_commits_conversation_id_e2e_groups_conversation_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "accounts"."e2e_groups"("conversation_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."e2e_groups" ADD CONSTRAINT "e2e_groups_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "accounts"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."e2e_groups" ADD CONSTRAINT "e2e_groups_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "accounts"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."e2e_key_packages" ADD CONSTRAINT "e2e_key_packages_user_id_device_id_device_keys_user_id_device_id_fk" FOREIGN KEY ("user_id","device_id") REFERENCES "accounts"."device_keys"("user_id","device_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."e2e_welcomes" ADD CONSTRAINT "e2e_welcomes_conversation_id_e2e_groups_conversation_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "accounts"."e2e_groups"("conversation_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."e2e_welcomes" ADD CONSTRAINT "e2e_welcomes_user_id_device_id_device_keys_user_id_device_id_fk" FOREIGN KEY ("user_id","device_id") REFERENCES "accounts"."device_keys"("user_id","device_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "e2e_key_packages_device_idx" ON "accounts"."e2e_key_packages" USING btree ("user_id","device_id","id");--> statement-breakpoint
CREATE INDEX "e2e_welcomes_device_idx" ON "accounts"."e2e_welcomes" USING btree ("user_id","device_id","id");