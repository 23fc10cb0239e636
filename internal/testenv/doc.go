// Package testenv starts the real components that integration tests need —
// PostgreSQL now; libvirtd, Open vSwitch, tgtd, HAProxy, Ceph, knotd and
// nsd as their areas land — each on demand, once per test binary, in a
// private directory, on free ports, and stops them by pid when the binary
// exits.
//
// Wire it into a package with
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// When a component's binary is missing, the test is skipped with a message
// naming the Debian package to install — except when CI=true, where it
// fails: CI never silently skips an integration test.
//
// This package is for tests only and must not be imported by production
// code (a guard test checks that).
package testenv
