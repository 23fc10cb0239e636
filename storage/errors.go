package storage

import (
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// Cinder's exceptions: the class name in Type, its message (with
// Cinder's prefix, "Invalid volume: " for InvalidVolume) in Message, its
// HTTP status as the fault kind.
func cinderError(kind fault.Kind, typ, format string, args ...any) error {
	return &fault.Error{Kind: kind, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// invalidVolume is Cinder's InvalidVolume (400): "Invalid volume: reason".
func invalidVolume(format string, args ...any) error {
	return cinderError(fault.BadRequest, "InvalidVolume", "Invalid volume: "+format, args...)
}

// invalidInput is Cinder's InvalidInput (400).
func invalidInput(format string, args ...any) error {
	return cinderError(fault.BadRequest, "InvalidInput", "Invalid input received: "+format, args...)
}

// invalidParameter is Cinder's InvalidParameterValue (400).
func invalidParameter(format string, args ...any) error {
	return cinderError(fault.BadRequest, "InvalidParameterValue", format, args...)
}

func volumeNotFound(id string) error {
	return cinderError(fault.NotFound, "VolumeNotFound", "Volume %s could not be found.", id)
}

// errUnchanged, returned by a change function, writes nothing.
var errUnchanged = errors.New("storage: unchanged")
