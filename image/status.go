package image

import (
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// Status is a Glance image status.
type Status string

// Glance's statuses.
const (
	Queued        Status = "queued"
	Saving        Status = "saving"
	Uploading     Status = "uploading"
	Importing     Status = "importing"
	Active        Status = "active"
	Killed        Status = "killed"
	Deleted       Status = "deleted"
	PendingDelete Status = "pending_delete"
	Deactivated   Status = "deactivated"
)

// transitions is Glance's state machine (glance/domain/__init__.py).
var transitions = map[Status][]Status{
	Queued:        {Saving, Uploading, Importing, Active, Deleted},
	Saving:        {Active, Killed, Deleted, Queued},
	Uploading:     {Importing, Queued, Deleted},
	Importing:     {Active, Deleted, Queued},
	Active:        {PendingDelete, Deleted, Deactivated},
	Killed:        {Deleted},
	PendingDelete: {Deleted, Active},
	Deactivated:   {Active, Deleted},
	Deleted:       {},
}

// CanTransition reports whether Glance allows from -> to.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// checkTransition applies Glance's rules for moving img to to: the edge
// must exist, and leaving queued or uploading needs both formats.
func checkTransition(img *Image, to Status) error {
	if !CanTransition(img.Status, to) {
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Image status transition from %s to %s is not allowed", img.Status, to)}
	}
	if (img.Status == Queued || img.Status == Uploading) && to != Queued && to != Deleted &&
		(img.DiskFormat == "" || img.ContainerFormat == "") {
		return fault.Invalid("disk_format", "Properties disk_format, container_format must be set prior to saving data.")
	}
	return nil
}
