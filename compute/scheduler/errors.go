package scheduler

import "errors"

// Errors, wrapped with details; match them with errors.Is.
var (
	// ErrNoValidHost is what a *NoValidHost matches: no host (or not
	// enough hosts) could take the request.
	ErrNoValidHost = errors.New("scheduler: no valid host")
	// ErrInvalidRequest is a request the scheduler cannot read.
	ErrInvalidRequest = errors.New("scheduler: invalid request")
	// ErrInvalidConfig is a configuration New refuses.
	ErrInvalidConfig = errors.New("scheduler: invalid config")
	// ErrDuplicatePlugin is a second registration under one name.
	ErrDuplicatePlugin = errors.New("scheduler: plugin already registered")
	// ErrUnknownPlugin is a configured name no factory is registered for.
	ErrUnknownPlugin = errors.New("scheduler: unknown plugin")
)
