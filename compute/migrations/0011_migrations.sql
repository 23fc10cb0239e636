-- Nova's migration records of cold moves (resize and migrate): where an
-- instance goes from and to, its flavors before and after, and how far
-- the move is. The uuid is also the Placement consumer holding the
-- source's resources until the move is confirmed or reverted.
CREATE TABLE compute_migrations (
	uuid TEXT PRIMARY KEY,
	instance_uuid TEXT NOT NULL,
	migration_type TEXT NOT NULL,
	status TEXT NOT NULL,
	source_compute TEXT NOT NULL,
	source_node TEXT NOT NULL,
	dest_compute TEXT NOT NULL,
	dest_node TEXT NOT NULL,
	old_flavor TEXT NOT NULL,
	new_flavor TEXT NOT NULL,
	old_vm_state TEXT NOT NULL,
	requested_host TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX compute_migrations_instance ON compute_migrations (instance_uuid, created_at);
CREATE INDEX compute_migrations_status ON compute_migrations (status);
