-- Shared Fernet keys (identity.SharedKeys), for several controllers
-- without rsync. idx follows Keystone's file names: 0 staged, the highest
-- primary. Times are Unix microseconds. The keys are secrets: whoever can
-- read this table can mint tokens, as whoever can read Keystone's key
-- directory can.
CREATE TABLE identity_fernet_keys (
	idx BIGINT PRIMARY KEY,
	key TEXT NOT NULL,
	retired_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE identity_fernet_state (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	generation BIGINT NOT NULL
);
INSERT INTO identity_fernet_state (id, generation) VALUES (1, 0);
-- Which key generation each node has loaded, and when it last said so.
CREATE TABLE identity_fernet_acks (
	node TEXT PRIMARY KEY,
	generation BIGINT NOT NULL,
	seen_at BIGINT NOT NULL
);
