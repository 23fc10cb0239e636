-- Nova's os-migrations shows a migration's integer id (its marker is
-- the uuid) and, from 2.80, the user and project that asked for the
-- move. Existing rows are numbered in creation order, and take their
-- instance's project (their requester is not known).
ALTER TABLE compute_migrations ADD COLUMN id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE compute_migrations ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE compute_migrations ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
UPDATE compute_migrations SET id = (SELECT COUNT(*) FROM compute_migrations m2
	WHERE m2.created_at < compute_migrations.created_at
	OR (m2.created_at = compute_migrations.created_at AND m2.uuid <= compute_migrations.uuid));
UPDATE compute_migrations SET project_id = COALESCE((SELECT i.project_id FROM compute_instances i
	WHERE i.uuid = compute_migrations.instance_uuid), '');
INSERT INTO compute_sequences (name, last) SELECT 'migration', COALESCE(MAX(id), 0) FROM compute_migrations;
CREATE INDEX compute_migrations_created ON compute_migrations (created_at, id);
