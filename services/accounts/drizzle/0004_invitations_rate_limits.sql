CREATE TABLE "accounts"."rate_limits" (
	"key" varchar(255) PRIMARY KEY NOT NULL,
	"points" integer DEFAULT 0 NOT NULL,
	"expire" bigint
);
--> statement-breakpoint
CREATE TABLE "accounts"."room_invitations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"inviter_id" uuid NOT NULL,
	"invitee_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "accounts"."room_invitations" ADD CONSTRAINT "room_invitations_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "accounts"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."room_invitations" ADD CONSTRAINT "room_invitations_inviter_id_users_id_fk" FOREIGN KEY ("inviter_id") REFERENCES "accounts"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."room_invitations" ADD CONSTRAINT "room_invitations_invitee_id_users_id_fk" FOREIGN KEY ("invitee_id") REFERENCES "accounts"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "room_invitations_pair_key" ON "accounts"."room_invitations" USING btree ("conversation_id","invitee_id");--> statement-breakpoint
CREATE INDEX "room_invitations_invitee_idx" ON "accounts"."room_invitations" USING btree ("invitee_id");--> statement-breakpoint
CREATE INDEX "room_invitations_inviter_idx" ON "accounts"."room_invitations" USING btree ("inviter_id");