-- Cinder's user messages: what an asynchronous operation that failed
-- tells the project of the volume, snapshot or backup it was about, in
-- Cinder's fixed words (action and detail ids), until expires_at.
-- A deleted message's row goes.
CREATE TABLE storage_messages (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	request_id TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_uuid TEXT NOT NULL,
	action_id TEXT NOT NULL,
	detail_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	message_level TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX storage_messages_project ON storage_messages (project_id, created_at);
CREATE INDEX storage_messages_expires ON storage_messages (expires_at);
