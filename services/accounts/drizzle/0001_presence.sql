CREATE TABLE "accounts"."presence" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"online" boolean DEFAULT false NOT NULL,
	"last_seen_at" timestamp with time zone,
	"offline_pending_since" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "accounts"."presence_sessions" (
	"user_id" uuid NOT NULL,
	"gateway_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "presence_sessions_user_id_gateway_id_pk" PRIMARY KEY("user_id","gateway_id")
);
--> statement-breakpoint
ALTER TABLE "accounts"."presence" ADD CONSTRAINT "presence_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "accounts"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "presence_pending_idx" ON "accounts"."presence" USING btree ("offline_pending_since") WHERE "accounts"."presence"."offline_pending_since" is not null;--> statement-breakpoint
CREATE INDEX "presence_sessions_gateway_idx" ON "accounts"."presence_sessions" USING btree ("gateway_id");--> statement-breakpoint
CREATE INDEX "presence_sessions_expires_idx" ON "accounts"."presence_sessions" USING btree ("expires_at");