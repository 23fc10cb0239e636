// Package fernet issues and validates Keystone-compatible Fernet tokens
// and manages Keystone's Fernet key repository.
//
// It is usable alone: any Go service that shares Keystone's key repository
// directory can validate Keystone's tokens locally, and Keystone can
// validate tokens this package issues. Tokens are byte-compatible with
// Keystone's TokenFormatter: the Fernet spec (version 0x80, big-endian
// timestamp, AES-128-CBC with PKCS#7, HMAC-SHA256, URL-safe base64 with the
// '=' padding stripped), a msgpack payload encoded exactly as Python's
// msgpack does, and every payload version Keystone defines (0-10).
//
// Layers, each usable on its own:
//
//   - Key, Seal and Open: the Fernet spec.
//   - Payload and Formatter: Keystone's payloads; Formatter.Issue and
//     Formatter.Parse.
//   - Receipt: Keystone's auth receipts (multi-factor authentication),
//     Fernet under the same keys with a payload of their own (user id,
//     methods, expiry); Formatter.IssueReceipt and ParseReceipt, checked
//     byte for byte against Keystone's ReceiptFormatter. A receipt is no
//     token and a token no receipt.
//   - Repository: Keystone's on-disk key layout (file 0 staged, the highest
//     number primary, the rest secondary), Setup and Rotate with
//     max_active_keys, atomic 0600 writes. Keys are held in memory and
//     reloaded only when the directory changes; validating a token never
//     touches the disk (Keystone reads the directory on every token).
//
// A rotation survives being killed — the process or the machine — at any
// point. Rotate writes the next staged key to 0.tmp and fsyncs it and the
// directory, renames 0 to the new primary's number, renames 0.tmp to 0,
// then purges; each rename and the purge are followed by an fsync of the
// directory. A crash therefore leaves one of: a stray 0.tmp beside an
// untouched repository; every old key plus the new primary, with the
// staged key still in 0.tmp and no 0; a rotated repository not yet
// purged; or one partly purged. In each of them the
// keys open every token that was valid before (OpenRepository and Keystone
// read them as they are). The next Setup — what a daemon runs at start —
// or Rotate repairs under the lock: it removes a 0.tmp beside a key 0,
// renames a complete 0.tmp to 0 when 0 is missing, writes a new staged key
// when neither is there, and promotes the staged key of a Setup that
// stopped before its rotation. Setup never rotates a repository that has a
// primary and never removes a key; Rotate repairs, then rotates.
//
// What it does not do: it does not decide whether a valid token should be
// honoured. Revocation, disabled users and roles are the identity service's
// business; Parse only proves that a token was made with one of the keys
// and reports what it says, and Validate adds the expiry check.
package fernet
