-- Which controller's builder works on an instance (its schedule, claim,
-- ports and placement, or a move's step), until when: two controllers
-- on one database never build one instance twice.
CREATE TABLE compute_leases (
	instance_uuid TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
