-- One row holds the global revision (head) and the compaction horizon.
-- Writers bump head with UPDATE ... RETURNING inside their own transaction:
-- the row lock makes commit order equal revision order, so readers never
-- see revision n+1 before n and the feed has no gaps.
CREATE TABLE watch_state (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	head BIGINT NOT NULL,
	compacted BIGINT NOT NULL
);
INSERT INTO watch_state (id, head, compacted) VALUES (1, 0, 0);
CREATE TABLE watch_changes (
	rev BIGINT PRIMARY KEY,
	area TEXT NOT NULL,
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	project TEXT NOT NULL DEFAULT '',
	op TEXT NOT NULL,
	data TEXT,
	at BIGINT NOT NULL
);
CREATE INDEX watch_changes_area ON watch_changes (area, rev);
