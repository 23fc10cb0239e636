package ovs

import "errors"

// Sentinels, wrapped with context by the calls that return them.
var (
	// ErrNotConnected: the Client has lost its OVSDB connection and is
	// reconnecting; try again after the next Changed.
	ErrNotConnected = errors.New("ovs: not connected to ovsdb-server")
	// ErrNoBridge: EnsurePort, DeletePort or a lookup named a bridge that
	// does not exist.
	ErrNoBridge = errors.New("ovs: no such bridge")
	// ErrNoPort: SetTag named a port that does not exist.
	ErrNoPort = errors.New("ovs: no such port")
	// ErrOtherBridge: EnsurePort named a port that exists on another
	// bridge; it is not moved.
	ErrOtherBridge = errors.New("ovs: port is on another bridge")
	// ErrConflict: Sync wants a flow whose table, priority and match
	// belong to a flow of another owner (its cookie is outside the mask),
	// or wants two flows with the same table, priority and match.
	ErrConflict = errors.New("ovs: conflicting flow")
	// ErrSystem: Stop was called on the system's Open vSwitch (System),
	// which this package did not start and does not stop.
	ErrSystem = errors.New("ovs: the system's Open vSwitch is not ours to stop")
)
