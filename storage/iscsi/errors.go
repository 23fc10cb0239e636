package iscsi

import "errors"

// Sentinels, wrapped with context by the calls that return them.
var (
	// ErrInvalid: a refused Exporter, Export, CHAP or size; nothing was
	// changed.
	ErrInvalid = errors.New("iscsi: invalid")
	// ErrConflict: tgtd holds something of the same name that this
	// Exporter did not make and will not take over: an account of the
	// wanted CHAP user bound to another target, or made by someone else.
	ErrConflict = errors.New("iscsi: conflict")
	// ErrNotRunning: tgtd does not run on the control port (Unexport,
	// Targets and a Reconcile of nothing do not start it).
	ErrNotRunning = errors.New("iscsi: tgtd is not running")
	// ErrNotOwned: Stop on a tgtd that this Exporter's Dir did not start
	// (the host's tgt service, or another Dir's).
	ErrNotOwned = errors.New("iscsi: tgtd was not started by this Exporter")
	// ErrExists: Files.Create of a volume whose file exists with another
	// size.
	ErrExists = errors.New("iscsi: volume file exists")
	// ErrNoVolume: Files.Extend or Size of a volume that has no file.
	ErrNoVolume = errors.New("iscsi: no such volume file")
)
