package server

import "errors"

// ErrInvalidZone is wrapped by every error Build and ParseZone return for
// zone data that cannot be served; the message names the zone and owner.
var ErrInvalidZone = errors.New("invalid zone")

// ErrNotify is wrapped by Notify when a target did not acknowledge.
var ErrNotify = errors.New("notify not acknowledged")

// ErrUnknownZone is returned for a zone that the Source does not hold.
var ErrUnknownZone = errors.New("unknown zone")
