-- Volume backends (a host@backend#pool whose volume agent reports it):
-- the last report as JSON, what the pool's volumes took when it came
-- (allocated_at_report: the scheduler adds what was placed since), the
-- heartbeat, an admin's disabling. generation grows with every report
-- and every claim of the pool's capacity: a claim compares it, so two
-- creates never both take the last space.
CREATE TABLE storage_backends (
	host TEXT PRIMARY KEY,
	availability_zone TEXT NOT NULL,
	report TEXT NOT NULL,
	allocated_at_report BIGINT NOT NULL,
	disabled BOOLEAN NOT NULL DEFAULT FALSE,
	disabled_reason TEXT NOT NULL DEFAULT '',
	generation BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	heartbeat_at BIGINT NOT NULL
);
