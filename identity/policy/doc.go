// Package policy is gostack's oslo.policy: the rule language every
// OpenStack service uses for role-based access control, an Enforcer that
// holds each area's registered defaults and an operator's overrides, and
// Keystone's default rules.
//
// A rule such as
//
//	(rule:admin_required) or (role:reader and domain_id:%(target.domain_id)s)
//
// is parsed exactly as oslo_policy/_parser.py parses it: tokens split at
// whitespace with parentheses peeled off, and/or/not in any case (and binds
// tighter than or), "@" and the empty rule always true, "!" always false,
// rule:, role: (case-insensitive) and generic kind:match checks with
// %(key)s substitution from the target, plus the list-of-lists form of old
// JSON files. A rule that does not parse fails closed and is reported. A
// differential test runs the installed oslo.policy on the same cases.
// A service adds check kinds of its own with RegisterCheck, as
// oslo.policy's register() lets Neutron add "field:networks:shared=True".
//
// Callers describe the caller with Creds, the object with a target map
// (usually built with Flatten, giving Keystone's "target.project.id"
// keys), and call Enforcer.Enforce, which returns nil or a *fault.Error of
// kind Forbidden carrying Keystone's message.
//
// What it does not do:
//
//   - http: and https: checks (remote policy servers) parse but are always
//     false; Register rejects them and Load reports them.
//   - Where oslo.policy would raise instead of deciding — a cyclic rule:
//     reference, a dotted creds path through a string, a %-conversion
//     other than %(name)s, a check kind that is neither a Python scalar
//     literal nor a dotted name — Enforce denies (the fault's Err says
//     why). A few kinds oslo would still evaluate (containers and complex
//     numbers as literals, expressions such as "a-b" as creds keys) are
//     refused the same way.
//   - Scope: with EnforceScope set, a rule's ScopeTypes are checked against
//     Creds.Scope as oslo's enforce_scope does; off by default, as in
//     oslo.policy 4.0. Role implication (admin implies member implies
//     reader) is not applied here: Creds.Roles must already hold the
//     effective roles, as in a Keystone token.
//   - Keystone's shared admin-token bypass and deprecated-rule fallbacks
//     (enforce_new_defaults=False ORs each new default with its
//     deprecated one); KeystoneDefaults holds only the new defaults.
//   - Python's dict ordering: str() of a dict value sorts its keys.
package policy

//go:generate sh -c "/usr/bin/python3 testdata/gen_keystone_rules.py > keystone_rules.go && gofmt -w keystone_rules.go"
