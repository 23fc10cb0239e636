// Package password hashes and verifies user passwords the way Keystone
// does, so users moved from Keystone keep their passwords and Keystone can
// read the hashes gostack writes.
//
// Hashes are passlib's formats, as Keystone stores them: bcrypt ($2b$, the
// default, cost 12), scrypt ($scrypt$), pbkdf2_sha512 ($pbkdf2-sha512$)
// and, for verification only, sha512_crypt ($6$, the default of older
// Keystone releases). Keystone's length rule is kept: passwords are cut to
// max_password_length bytes (72 when the configured algorithm is bcrypt,
// which ignores the rest anyway), or refused when Strict is set.
//
// What it does not do: password policy (complexity, history, expiry,
// lock-out) belongs to the identity service.
package password
