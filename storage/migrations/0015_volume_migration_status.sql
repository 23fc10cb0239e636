-- Cinder's migration_status of a volume a retype migrates: migrating
-- while it does, then success or error, kept until its next migration
-- ('' for None: never migrated, or reset to none by an admin).
ALTER TABLE storage_volumes ADD COLUMN migration_status TEXT NOT NULL DEFAULT '';
