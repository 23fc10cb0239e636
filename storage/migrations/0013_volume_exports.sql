-- The initiators a volume's export lets in, as its agent last reported
-- them after applying them (backends exporting per initiator only): an
-- attachment's connect waits until its host's initiator is here before
-- it answers the connection info.
CREATE TABLE storage_volume_exports (
	volume_id TEXT PRIMARY KEY,
	initiators TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
