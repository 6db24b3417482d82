ALTER TABLE "accounts"."e2e_key_packages" ADD COLUMN "last_resort" boolean DEFAULT false NOT NULL;
