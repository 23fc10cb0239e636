-- A test area's first migration.
CREATE TABLE widgets (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	blob BLOB,
	size BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX widgets_size ON widgets (size);
