// Package allinone wires every gostack area into one process: one store,
// one watch feed, one metrics registry, and one listener per area on its
// OpenStack port. cmd/gostack is a thin main around Run; embedders and
// tests call Run (or Daemon.Run) directly, with their own listeners.
//
// What it does not do: it holds no area logic. An area plugs in through the
// Area interface; until an area's issue lands, its port stays closed.
package allinone
