-- Glance's model. Times are Unix microseconds.
CREATE TABLE image_images (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	visibility TEXT NOT NULL,
	protected BOOLEAN NOT NULL DEFAULT FALSE,
	os_hidden BOOLEAN NOT NULL DEFAULT FALSE,
	owner TEXT NOT NULL,
	checksum TEXT NOT NULL DEFAULT '',
	os_hash_algo TEXT NOT NULL DEFAULT '',
	os_hash_value TEXT NOT NULL DEFAULT '',
	size BIGINT,
	virtual_size BIGINT,
	container_format TEXT NOT NULL DEFAULT '',
	disk_format TEXT NOT NULL DEFAULT '',
	min_ram BIGINT NOT NULL DEFAULT 0,
	min_disk BIGINT NOT NULL DEFAULT 0,
	tags TEXT NOT NULL DEFAULT '[]',
	properties TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX image_images_owner ON image_images (owner);
CREATE INDEX image_images_visibility ON image_images (visibility);
CREATE TABLE image_members (
	image_id TEXT NOT NULL REFERENCES image_images (id) ON DELETE CASCADE,
	member TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (image_id, member)
);
CREATE INDEX image_members_member ON image_members (member);
