-- Keystone's credentials (/v3/credentials and OS-EC2). The blob is never
-- stored in clear: encrypted_blob is the Fernet token Keystone's
-- credential provider makes with the credential key repository's
-- primary key (padded URL-safe base64), key_hash the SHA-1 of that key's
-- text, so a rotation can tell which credentials still need the old key.
-- An ec2 credential's id is the SHA-256 of its access key. user_id and
-- project_id are checked to exist when written; the user's and the
-- project's deletes remove their credentials, as Keystone's callbacks do.
CREATE TABLE identity_credentials (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	project_id TEXT NOT NULL DEFAULT '',
	type TEXT NOT NULL,
	encrypted_blob TEXT NOT NULL,
	key_hash TEXT NOT NULL,
	extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX identity_credentials_user ON identity_credentials (user_id);
CREATE INDEX identity_credentials_project ON identity_credentials (project_id);
