// Package middlewaretest is a fake identity for tests of services behind
// identity/middleware: tokens mapped to callers, no keys, no store. A
// service's API tests only need to know who calls; identity has its own
// integration tests.
//
// What it does not do: expire, revoke or validate anything but the exact
// token strings it holds.
package middlewaretest
