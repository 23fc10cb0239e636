package dns

import (
	"net"
	"time"
)

// Status is Designate's status of a zone or recordset.
type Status string

// The statuses. Designate's SUCCESS and NO_ZONE are not used here.
const (
	Pending Status = "PENDING" // a change is not yet on every nameserver
	Active  Status = "ACTIVE"  // every nameserver answers with the current serial
	Errored Status = "ERROR"   // propagation failed (Designate's ERROR)
	Deleted Status = "DELETED" // gone; kept until Purge
)

// Action is what a PENDING zone or recordset is waiting for.
type Action string

// The actions.
const (
	ActionCreate Action = "CREATE"
	ActionUpdate Action = "UPDATE"
	ActionDelete Action = "DELETE"
	ActionNone   Action = "NONE"
)

// Zone types. Designate's CATALOG zones are not supported.
const (
	Primary   = "PRIMARY"
	Secondary = "SECONDARY"
)

// DefaultPoolID is Designate's id for the default pool, which the
// migration creates (without nameservers: see EnsureDefaultPool).
const DefaultPoolID = "794ccc2c-d751-44fe-b57f-8894c9f5c842"

// Zone is a Designate v2 zone. Name is a lowercase FQDN with the trailing
// dot. Serial moves only forward, and only in BumpSerials; a change sets
// SerialPending and puts the zone in PENDING until MarkActive.
type Zone struct {
	ID          string    `json:"id"`
	ProjectID   string    `json:"project_id"`
	PoolID      string    `json:"pool_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	TTL         int       `json:"ttl"`
	Serial      uint32    `json:"serial"`
	Refresh     int       `json:"refresh"`
	Retry       int       `json:"retry"`
	Expire      int       `json:"expire"`
	Minimum     int       `json:"minimum"`
	Type        string    `json:"type"`
	Masters     []string  `json:"masters"` // SECONDARY only: "host" or "host:port", host an IP address or a hostname
	Description string    `json:"description"`
	Status      Status    `json:"status"`
	Action      Action    `json:"action"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	// SerialPending says a change waits for the next BumpSerials
	// (Designate's increment_serial).
	SerialPending bool `json:"-"`
	// Shared says the zone is shared with other projects (ZoneShare), as
	// Designate's zone "shared" field does; set by the reads the API
	// renders (GetZone, ListZones) and by UpdateZone.
	Shared bool `json:"-"`
}

// RecordSet is a Designate v2 recordset: every record of one name and
// type in a zone. TTL nil means the zone's TTL. Records hold the rdata in
// presentation format, as miekg/dns prints it (so "2001:DB8::1" is stored
// as "2001:db8::1").
type RecordSet struct {
	ID          string    `json:"id"`
	ZoneID      string    `json:"zone_id"`
	ZoneName    string    `json:"zone_name"`
	ProjectID   string    `json:"project_id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	TTL         *int      `json:"ttl"`
	Records     []string  `json:"records"`
	Description string    `json:"description"`
	Status      Status    `json:"status"`
	Action      Action    `json:"action"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Managed reports whether the recordset belongs to the zone rather than
// to its users: the SOA, and the NS recordset at the apex (from the pool).
func (rs RecordSet) Managed() bool {
	return rs.Type == "SOA" || (rs.Type == "NS" && rs.Name == rs.ZoneName)
}

// NSRecord is one of a pool's nameservers.
type NSRecord struct {
	Hostname string `json:"hostname"`
	Priority int    `json:"priority"`
}

// Pool is a set of nameservers that serve the same zones, as Designate's
// pool manager describes it (pools.yaml): their NS records (the zones'
// apex NS recordset, the first one the SOA's MNAME), the nameservers
// asked for a zone's serial before it is ACTIVE (none: the publisher's own
// servers), the extra servers to NOTIFY, and the targets: secondaries that
// transfer the pool's zones from gostack's DNS server. Hosts are kept as
// "host:port" (an IP address, "[v6]", or a hostname).
type Pool struct {
	ID           string            `json:"id"`
	ProjectID    string            `json:"project_id"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Attributes   map[string]string `json:"attributes"`
	NSRecords    []NSRecord        `json:"ns_records"`
	Nameservers  []string          `json:"nameservers"`
	AlsoNotifies []string          `json:"also_notifies"`
	Targets      []PoolTarget      `json:"targets"`
	Version      int               `json:"version"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// TargetSecondary is the one kind of pool target gostack drives: a DNS
// server that is a secondary of the pool's zones. gostack serves the
// zones itself and runs no backend driver (Designate's bind9, pdns4 and
// the rest add zones to the server they drive): the secondary must list
// the zones, or take a catalog, on its own.
const TargetSecondary = "secondary"

// PoolTarget is a secondary of the pool's zones (Designate's pool
// target): its NOTIFY address is Options["host"] and Options["port"]
// (53 by default), it may transfer the pool's zones from that host, and
// both are signed with the TSIG key TSIGKeyID when set. Masters are where
// it transfers from, as the operator tells it (informational: gostack's
// DNS server addresses).
type PoolTarget struct {
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Masters     []string          `json:"masters"`
	Options     map[string]string `json:"options"`
	TSIGKeyID   string            `json:"tsigkey_id"`
}

// NotifyAddr is the target's "host:port" for NOTIFY.
func (t PoolTarget) NotifyAddr() string {
	port := t.Options["port"]
	if port == "" {
		port = "53"
	}
	return net.JoinHostPort(t.Options["host"], port)
}

// TSIG key scopes.
const (
	ScopePool = "POOL"
	ScopeZone = "ZONE"
)

// TSIGKey is a shared secret for signing zone transfers and NOTIFY, for a
// pool or a zone. Secret is base64, as in a BIND key statement.
type TSIGKey struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Algorithm  string    `json:"algorithm"`
	Secret     string    `json:"secret"`
	Scope      string    `json:"scope"`
	ResourceID string    `json:"resource_id"`
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Viewer is who is asking: a project, and whether it is an admin who asked
// for every project (Designate's X-Auth-All-Projects). An admin without
// AllProjects sees only its own project, as in Designate.
type Viewer struct {
	Project     string
	Admin       bool
	AllProjects bool
}

func (v Viewer) all() bool { return v.Admin && v.AllProjects }

func (v Viewer) sees(project string) bool { return v.all() || project == v.Project }

// check refuses all_projects to non-admins, as Designate's policy does.
func (v Viewer) check() error {
	if v.AllProjects && !v.Admin {
		return forbidden("forbidden", "all_projects is only for admins")
	}
	return nil
}
