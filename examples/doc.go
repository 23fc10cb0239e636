// Package examples holds runnable programs, one folder each, that show how
// to use gostack's building blocks from your own code. The folder is a Go
// module of its own (github.com/gostack/gostack/examples), so the programs
// use only what any outside module can: public packages, no internal/.
// Each program's main calls a run function that its test runs, checking
// what it printed; make test vets, builds and tests them all.
//
//   - fernet: a Keystone Fernet key repository in a temporary directory
//     (identity/fernet): a token issued, validated, and refused once
//     rotations have purged its key.
//   - policy: a service's oslo.policy rule defaults and an operator's
//     override (identity/policy), checked for two callers.
//   - password: Keystone's password hashes (identity/password): bcrypt,
//     pbkdf2_sha512, an old sha512_crypt hash, the length rule.
//   - revoke: a revocation index (identity/revoke): tokens checked against
//     events by audit id, user, project and role, then pruned.
//   - middleware: a net/http handler behind identity/middleware, with a
//     Validator of its own, called with and without a token.
//   - inspect: uploads streamed through image/format's inspector: raw,
//     qcow2, a misdeclared format, a qcow2 with a backing file refused.
//   - imagestore: image/store's Filesystem store: md5 and sha512 in one
//     pass, a range read, the size limit.
//   - convert: raw to qcow2 and back with image/convert (needs qemu-img).
//   - dnsserver: a zone served by dns/server on a UDP socket, queried with
//     github.com/miekg/dns, then replaced while serving.
//   - watchfeed: a store with an embedded migration, writes that append to
//     the watch feed (kit/sqlstore, kit/watch), and an agent that follows
//     the feed — the broker-less pattern every gostack agent uses.
//   - scheduling: compute hosts reported into a Placement store with
//     Nova's allocation ratios, an anti-affinity group placed with
//     compute/scheduler and claimed atomically, and an explained "no
//     valid host".
//   - cloud: three whole areas (identity, image, dns) embedded with
//     kit/compose in a program's own http.Server, each under a path
//     prefix (http://host/identity, /image, /dns); its test drives it
//     with the openstack CLI (token issue, image create and list, zone
//     create and list).
//
// Run one from this folder:
//
//	cd examples && go run ./fernet
package examples
