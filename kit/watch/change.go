package watch

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gostack/gostack/kit/fault"
)

// Op is what happened to a resource.
type Op string

// The operations.
const (
	Create Op = "create"
	Update Op = "update"
	Delete Op = "delete"
)

// Change is one entry of the feed.
type Change struct {
	Revision int64           `json:"revision"`
	Area     string          `json:"area"`              // "compute", "network", ...
	Kind     string          `json:"kind"`              // resource type within the area: "server", "port", ...
	ID       string          `json:"id"`                // resource id
	Project  string          `json:"project,omitempty"` // owning project, for tenant-scoped feeds
	Op       Op              `json:"op"`
	Data     json.RawMessage `json:"data,omitempty"` // the resource after the change; empty on delete
	At       time.Time       `json:"at"`             // commit-side timestamp
}

// Batch is one read of the feed.
type Batch struct {
	Changes []Change `json:"changes"`
	// Revision is where the reader should continue: the last change's
	// revision if More, else the head of the log when it was read (which
	// may be past the last change of this area).
	Revision int64 `json:"revision"`
	More     bool  `json:"more"` // the limit cut the batch short; read again at once
}

// Query selects changes.
type Query struct {
	Area    string // "" for every area
	Project string // "" for every project
	Since   int64  // return changes with revision > Since
	Limit   int    // 0 for the default (500)
}

const (
	defaultLimit = 500
	maxLimit     = 5000
)

func (q Query) limit() int {
	switch {
	case q.Limit <= 0:
		return defaultLimit
	case q.Limit > maxLimit:
		return maxLimit
	}
	return q.Limit
}

// ErrCompacted is matched (errors.Is) by every *CompactedError.
var ErrCompacted = errors.New("watch: revision compacted")

// CompactedError says that the requested revision is older than the
// compaction horizon: the reader must resync.
type CompactedError struct {
	Since   int64 // what was asked for
	Horizon int64 // the oldest revision one can watch from
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("revision %d is compacted (oldest available is %d): resync needed, list the resources and watch from the list's revision", e.Since, e.Horizon)
}

// Is makes the error match ErrCompacted and fault.ErrGone (HTTP 410).
func (e *CompactedError) Is(target error) bool {
	return target == ErrCompacted || target == fault.ErrGone
}
