package format

import (
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// Sentinels. Both are client errors: fault.KindOf reports BadRequest.
var (
	// ErrUnsafe is wrapped by every *SafetyError: the image was refused.
	ErrUnsafe = fmt.Errorf("format: image refused: %w", fault.ErrBadRequest)

	// ErrMismatch is wrapped by the error Matches returns when the declared
	// disk format does not fit the content.
	ErrMismatch = fmt.Errorf("format: disk format does not match content: %w", fault.ErrBadRequest)
)

// errWriteAfterResult is a caller bug, not a client error.
var errWriteAfterResult = errors.New("format: write after Result")

// SafetyError says why an image was refused. errors.Is(err, ErrUnsafe) and
// errors.Is(err, fault.ErrBadRequest) hold for it.
//
// Check names the failed check. The oslo.utils names are kept where oslo has
// the check:
//
//	backing_file      qcow2 has a backing file
//	data_file         qcow2 has an external data file
//	unknown_features  qcow2 version other than 2 or 3, or unknown incompatible features (extended L2 included)
//	descriptor        vmdk descriptor: subformat, line syntax, extents
//	footer            vmdk footer or end-of-stream marker
//	mbr               MBR partition entries (boot flag, protective GPT entry)
//	banned            the format is never allowed (qed)
//	version           unsupported luks version
//	ambiguous         the content matches more than one format
//
// and these are gostack's own:
//
//	parent      a parent image: vmdk parentFileNameHint, vhd differencing disk, vhdx parent locator
//	disk_type   unsupported vhd disk type
//	image_type  unsupported vdi image type (undo, differencing)
//	header      a recognised signature with a truncated or malformed structure
//	layout      the image needs data the stream has already passed (never for valid images)
type SafetyError struct {
	Format string // the format whose check failed; "qcow2+iso" for ambiguous
	Check  string // the check that failed, see above
	Reason string // human-readable detail, safe to show to API clients
}

func (e *SafetyError) Error() string {
	return "format: " + e.Format + ": " + e.Check + ": " + e.Reason
}

// Unwrap returns ErrUnsafe.
func (e *SafetyError) Unwrap() error { return ErrUnsafe }
