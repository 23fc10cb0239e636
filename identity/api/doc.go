// Package api is the Keystone v3 REST API over identity.Auth and
// identity.Store: an http.Handler to mount on the identity port. Every
// call but discovery and POST /v3/auth/tokens needs a valid X-Auth-Token,
// and every call passes the policy engine with Keystone's default rules.
//
// What it does not do: federation, OAuth1/2, trusts, credentials (EC2),
// endpoint groups and filters, limits, domain-specific configuration.
// Those paths answer 404.
package api
