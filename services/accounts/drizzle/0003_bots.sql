CREATE TABLE "accounts"."api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"bot_id" uuid NOT NULL,
	"name" text NOT NULL,
	"scopes" text[] NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "accounts"."users" ADD COLUMN "bot_owner_id" uuid;--> statement-breakpoint
ALTER TABLE "accounts"."api_tokens" ADD CONSTRAINT "api_tokens_bot_id_users_id_fk" FOREIGN KEY ("bot_id") REFERENCES "accounts"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash_key" ON "accounts"."api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "api_tokens_bot_idx" ON "accounts"."api_tokens" USING btree ("bot_id");--> statement-breakpoint
ALTER TABLE "accounts"."users" ADD CONSTRAINT "users_bot_owner_id_users_id_fk" FOREIGN KEY ("bot_owner_id") REFERENCES "accounts"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "users_bot_owner_idx" ON "accounts"."users" USING btree ("bot_owner_id") WHERE "accounts"."users"."bot_owner_id" is not null;