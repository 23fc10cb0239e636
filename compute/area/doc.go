// Package area plugs the compute area into a kit/compose daemon. Today
// that is Placement (NewPlacement): its config section ("placement"),
// the compute schema, and the Placement API v1 on port 8778 behind the
// identity area's token validation. It needs the identity area.
package area
