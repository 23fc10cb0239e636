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
//   - Repository: Keystone's on-disk key layout (file 0 staged, the highest
//     number primary, the rest secondary), Setup and Rotate with
//     max_active_keys, atomic 0600 writes. Keys are held in memory and
//     reloaded only when the directory changes; validating a token never
//     touches the disk (Keystone reads the directory on every token).
//
// What it does not do: it does not decide whether a valid token should be
// honoured. Revocation, disabled users and roles are the identity service's
// business; Parse only proves that a token was made with one of the keys
// and reports what it says, and Validate adds the expiry check.
package fernet
