-- Nova's key pairs: owned by a user (not a project), unique by name per
-- user. Integer ids come from compute_sequences; taking the 'keypair'
-- row first also makes a user's creates take turns, so the quota count
-- and the insert are one step.
INSERT INTO compute_sequences (name, last) VALUES ('keypair', 0);
CREATE TABLE compute_keypairs (
	id BIGINT PRIMARY KEY,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	public_key TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	UNIQUE (user_id, name)
);
