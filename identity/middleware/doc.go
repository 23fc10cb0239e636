// Package middleware authenticates requests for any Go HTTP service with
// Keystone-compatible tokens, without a round trip to the identity service
// per request.
//
// Wrap a handler with a Middleware whose Validator checks tokens
// (identity.Auth is one; anything that can turn a token into a Caller
// will do). The middleware:
//
//   - validates X-Auth-Token and, when present, X-Service-Token (which must
//     carry one of ServiceRoles);
//   - caches successful validations under the SHA-256 of the token, until
//     the token expires or the Validator's generation moves (it moves on
//     every identity change: a revocation, a disabled user, a removed
//     role), so a revoked token stops working at once;
//   - puts the Caller into the request context (CallerFrom), and sets
//     keystonemiddleware's headers (X-Identity-Status, X-User-Id,
//     X-Project-Id, X-Roles, ...) for handlers written against them,
//     after removing any such headers the client sent.
//
// What it does not do: authorization. Pair it with identity/policy.
package middleware
