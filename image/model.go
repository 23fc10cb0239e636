package image

import "time"

// Visibility of an image.
const (
	Public    = "public"
	Private   = "private"
	Shared    = "shared"
	Community = "community"
)

// Member statuses.
const (
	MemberPending  = "pending"
	MemberAccepted = "accepted"
	MemberRejected = "rejected"
)

// Image is a Glance image record.
type Image struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Status          Status            `json:"status"`
	Visibility      string            `json:"visibility"`
	Protected       bool              `json:"protected"`
	Hidden          bool              `json:"os_hidden"`
	Owner           string            `json:"owner"`
	Checksum        string            `json:"checksum"`
	HashAlgo        string            `json:"os_hash_algo"`
	HashValue       string            `json:"os_hash_value"`
	Size            *int64            `json:"size"`
	VirtualSize     *int64            `json:"virtual_size"`
	ContainerFormat string            `json:"container_format"`
	DiskFormat      string            `json:"disk_format"`
	MinRAM          int64             `json:"min_ram"`
	MinDisk         int64             `json:"min_disk"`
	Tags            []string          `json:"tags"`
	Properties      map[string]string `json:"properties"` // Glance's flat extra properties
	// Locations are where the data is read from, in order (Glance's
	// image locations): the image's own data in the data store, http(s)
	// URLs, or both. Queued images have none.
	Locations []Location `json:"locations,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Member shares an image with a project.
type Member struct {
	ImageID   string    `json:"image_id"`
	Member    string    `json:"member_id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
