-- The image an instance's snapshot under way goes to (createImage): the
-- API makes the image, the host's agent uploads its data, the report of
-- the task removes the row.
CREATE TABLE compute_snapshots (
	instance_uuid TEXT PRIMARY KEY,
	image_id TEXT NOT NULL,
	host TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
