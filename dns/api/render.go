package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// The views are the API_v2 adapters' renderings, fields in their order.

type selfLink struct {
	Self string `json:"self"`
}

// timestamp is Designate's DATETIME_FORMAT, '%Y-%m-%dT%H:%M:%S.%f' in UTC.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// updatedAt is null for an object never changed since its creation, as
// Designate leaves updated_at unset until the first update.
func updatedAt(created, updated time.Time) *string {
	if updated.IsZero() || updated.Equal(created) {
		return nil
	}
	s := timestamp(updated)
	return &s
}

// nullable is null for "", as Designate keeps an unset field None.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func href(r *http.Request, path ...string) string {
	return httpapi.BaseURL(r) + "/v2/" + strings.Join(path, "/")
}

type zoneView struct {
	ID            string            `json:"id"`
	PoolID        string            `json:"pool_id"`
	ProjectID     string            `json:"project_id"`
	Name          string            `json:"name"`
	Email         string            `json:"email"`
	Description   *string           `json:"description"`
	TTL           int               `json:"ttl"`
	Serial        uint32            `json:"serial"`
	Shared        bool              `json:"shared"`
	Status        dns.Status        `json:"status"`
	Action        dns.Action        `json:"action"`
	Version       int               `json:"version"`
	Attributes    map[string]string `json:"attributes"`
	Type          string            `json:"type"`
	Masters       []string          `json:"masters"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     *string           `json:"updated_at"`
	TransferredAt *string           `json:"transferred_at"`
	Links         selfLink          `json:"links"`
}

func renderZone(r *http.Request, z dns.Zone) zoneView {
	masters := make([]string, len(z.Masters))
	for i, m := range z.Masters {
		masters[i] = strings.TrimSuffix(m, ":53") // ZoneMasterAPIv2Adapter drops port 53
	}
	return zoneView{
		ID: z.ID, PoolID: z.PoolID, ProjectID: z.ProjectID, Name: z.Name, Email: z.Email,
		Description: nullable(z.Description), TTL: z.TTL, Serial: z.Serial, Shared: z.Shared, Status: z.Status, Action: z.Action,
		Version: z.Version, Attributes: map[string]string{}, Type: z.Type, Masters: masters,
		CreatedAt: timestamp(z.CreatedAt), UpdatedAt: updatedAt(z.CreatedAt, z.UpdatedAt),
		Links: selfLink{href(r, "zones", z.ID)},
	}
}

type recordSetView struct {
	ID          string     `json:"id"`
	ZoneID      string     `json:"zone_id"`
	ProjectID   string     `json:"project_id"`
	Name        string     `json:"name"`
	ZoneName    string     `json:"zone_name"`
	Type        string     `json:"type"`
	Records     []string   `json:"records"`
	Description *string    `json:"description"`
	TTL         *int       `json:"ttl"`
	Status      dns.Status `json:"status"`
	Action      dns.Action `json:"action"`
	Version     int        `json:"version"`
	CreatedAt   string     `json:"created_at"`
	UpdatedAt   *string    `json:"updated_at"`
	Links       selfLink   `json:"links"`
}

// renderRecordSet links the recordset under its zone, also when listed
// through /v2/recordsets (RecordSetAPIv2Adapter._get_path).
func renderRecordSet(r *http.Request, rs dns.RecordSet) recordSetView {
	records := rs.Records
	if records == nil {
		records = []string{}
	}
	return recordSetView{
		ID: rs.ID, ZoneID: rs.ZoneID, ProjectID: rs.ProjectID, Name: rs.Name, ZoneName: rs.ZoneName, Type: rs.Type,
		Records: records, Description: nullable(rs.Description), TTL: rs.TTL, Status: rs.Status, Action: rs.Action,
		Version: rs.Version, CreatedAt: timestamp(rs.CreatedAt), UpdatedAt: updatedAt(rs.CreatedAt, rs.UpdatedAt),
		Links: selfLink{href(r, "zones", rs.ZoneID, "recordsets", rs.ID)},
	}
}

type tsigKeyView struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Algorithm  string   `json:"algorithm"`
	Secret     string   `json:"secret"`
	Scope      string   `json:"scope"`
	ResourceID string   `json:"resource_id"`
	CreatedAt  string   `json:"created_at"`
	UpdatedAt  *string  `json:"updated_at"`
	Links      selfLink `json:"links"`
}

func renderTSIGKey(r *http.Request, k dns.TSIGKey) tsigKeyView {
	return tsigKeyView{
		ID: k.ID, Name: k.Name, Algorithm: k.Algorithm, Secret: k.Secret, Scope: k.Scope, ResourceID: k.ResourceID,
		CreatedAt: timestamp(k.CreatedAt), UpdatedAt: updatedAt(k.CreatedAt, k.UpdatedAt), Links: selfLink{href(r, "tsigkeys", k.ID)},
	}
}

// quotaView is QuotaListAPIv2Adapter's rendering: resource to limit.
func quotaView(q dns.Quota) map[string]int {
	return map[string]int{
		"zones": q.Zones, "zone_recordsets": q.ZoneRecordSets, "zone_records": q.ZoneRecords,
		"recordset_records": q.RecordSetRecords, "api_export_size": q.APIExportSize,
	}
}

// collectionLinks are a collection's "links": itself, with the request's
// query, and the next page when there is one.
type collectionLinks struct {
	Self string `json:"self"`
	Next string `json:"next,omitempty"`
}

func selfCollection(r *http.Request) string {
	s := httpapi.BaseURL(r) + r.URL.Path
	if q := r.URL.Query().Encode(); q != "" {
		s += "?" + q
	}
	return s
}

// writeCreated answers a create: status, Location at the object's self
// link, and the object.
func writeCreated(w http.ResponseWriter, status int, self string, v any) {
	w.Header().Set("Location", self)
	httpapi.WriteJSON(w, status, v)
}
