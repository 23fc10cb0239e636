package dns

import (
	"context"
	"fmt"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Task types and the statuses tasks end in.
const (
	TaskImport   = "IMPORT"
	TaskExport   = "EXPORT"
	TaskComplete = "COMPLETE"
	TaskError    = "ERROR"
)

// ZoneTask is a zone import or export (Designate's zone_tasks). An import
// that worked names the zone it made (ZoneID); an export names its zone
// and the Location of its file
// ("designate://v2/zones/tasks/exports/<id>/export"). Message says what
// happened, or why the task is in ERROR.
type ZoneTask struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	Type      string    `json:"task_type"`
	Status    string    `json:"status"`
	Message   string    `json:"message"`
	ZoneID    string    `json:"zone_id"`
	Location  string    `json:"location"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func taskNotFound(typ string) error {
	if typ == TaskImport {
		return notFound("ZoneImport", "zone_import_not_found")
	}
	return notFound("ZoneExport", "zone_export_not_found")
}

const taskCols = "id, project_id, task_type, status, message, zone_id, location, version, created_at, updated_at"

func insertTask(ctx context.Context, tx *sqlstore.Tx, t ZoneTask) error {
	_, err := tx.Exec(ctx, "INSERT INTO dns_zone_tasks ("+taskCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		t.ID, t.ProjectID, t.Type, t.Status, t.Message, t.ZoneID, t.Location, t.Version, micros(t.CreatedAt), micros(t.UpdatedAt))
	return err
}

func (s *Store) queryTasks(ctx context.Context, where string, args ...any) ([]ZoneTask, error) {
	out := []ZoneTask{}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+taskCols+" FROM dns_zone_tasks WHERE "+where+" ORDER BY created_at, id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t ZoneTask
			var created, updated int64
			if err := rows.Scan(&t.ID, &t.ProjectID, &t.Type, &t.Status, &t.Message, &t.ZoneID, &t.Location, &t.Version, &created, &updated); err != nil {
				return err
			}
			t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// ListTasks lists the viewer's tasks of one type (every project's for an
// admin of all projects), the oldest first; status "" is any.
func (s *Store) ListTasks(ctx context.Context, v Viewer, typ, status string) ([]ZoneTask, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	where, args := "task_type = ? AND (? = '' OR status = ?)", []any{typ, status, status}
	if !v.all() {
		where += " AND project_id = ?"
		args = append(args, v.Project)
	}
	return s.queryTasks(ctx, where, args...)
}

// GetTask returns a task of the viewer's of one type.
func (s *Store) GetTask(ctx context.Context, v Viewer, typ, id string) (ZoneTask, error) {
	if err := v.check(); err != nil {
		return ZoneTask{}, err
	}
	ts, err := s.queryTasks(ctx, "id = ? AND task_type = ?", id, typ)
	if err != nil {
		return ZoneTask{}, err
	}
	if len(ts) == 0 || !v.sees(ts[0].ProjectID) {
		return ZoneTask{}, taskNotFound(typ)
	}
	return ts[0], nil
}

// DeleteTask removes a task of the viewer's (not the zone it made or
// exported).
func (s *Store) DeleteTask(ctx context.Context, v Viewer, typ, id string) error {
	t, err := s.GetTask(ctx, v, typ, id)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM dns_zone_tasks WHERE id = ?", t.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "zone_task", t.ID, t.ProjectID, watch.Delete, nil)
	})
}

// ImportZone makes a PRIMARY zone of the viewer's project from an RFC 1035
// zone file, as Designate's central _import_zone does, and returns the
// import: COMPLETE with the zone's id ("<name> imported"), or ERROR with
// Designate's message and nothing else stored. The file's first statement
// (after $TTL) must be $ORIGIN, the zone's name; the SOA at the origin gives
// the email, TTL, serial, retry and expire; the SOA and the apex NS
// records are dropped (the pool's NS records are the zone's), NS records
// below the apex kept. Every other record is checked as a recordset
// create checks it, quotas included. check, if not nil, is the API's name
// check (the blacklist), applied as the zone's create applies it.
func (s *Store) ImportZone(ctx context.Context, v Viewer, text string, check func(name string) error) (ZoneTask, error) {
	if err := v.check(); err != nil {
		return ZoneTask{}, err
	}
	if err := checkProjectID(v.Project); err != nil {
		return ZoneTask{}, err
	}
	now := s.now()
	t := ZoneTask{ID: newID(), ProjectID: v.Project, Type: TaskImport, Status: TaskComplete, Version: 1, CreatedAt: now, UpdatedAt: now}
	z, sets, msg := parseZoneFile(text)
	if msg == "" {
		z.ProjectID, z.ID = v.Project, newID()
		z.Status, z.Action, z.Version, z.CreatedAt, z.UpdatedAt = Pending, ActionCreate, 1, now, now
		err := normalizeZone(&z)
		if err == nil && check != nil {
			err = check(z.Name)
		}
		if err == nil {
			err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
				if err := s.insertNewZone(ctx, tx, z); err != nil {
					return err
				}
				if err := s.insertImported(ctx, tx, z, sets); err != nil {
					return err
				}
				t.ZoneID, t.Message = z.ID, z.Name+" imported"
				if err := insertTask(ctx, tx, t); err != nil {
					return err
				}
				return s.record(ctx, tx, "zone_task", t.ID, t.ProjectID, watch.Create, t)
			})
		}
		if err == nil {
			return t, nil
		}
		msg = importMessage(err)
		if msg == "" {
			return ZoneTask{}, err
		}
	}
	t.Status, t.Message, t.ZoneID = TaskError, msg, ""
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := insertTask(ctx, tx, t); err != nil {
			return err
		}
		return s.record(ctx, tx, "zone_task", t.ID, t.ProjectID, watch.Create, t)
	})
	return t, err
}

// importMessage is Designate's message for an import that failed at the
// zone's create; "" for an error that is not the file's (the database).
func importMessage(err error) string {
	var f *fault.Error
	if !asFault(err, &f) || f.Kind == fault.Internal || f.Kind == fault.Unavailable {
		return ""
	}
	switch {
	case f.Type == "duplicate_zone":
		return "Duplicate zone."
	case f.Kind == fault.TooLarge:
		return "Quota exceeded during zone import."
	case f.Field == "ttl":
		return f.Message
	}
	msg := "An undefined error occurred. " + f.Message
	if len(msg) > 160 {
		msg = msg[:160]
	}
	return msg
}

func asFault(err error, f **fault.Error) bool {
	e, ok := err.(*fault.Error)
	*f = e
	return ok
}

// insertImported adds an imported zone's recordsets, carried by its first
// serial, each checked as CreateRecordSet checks it.
func (s *Store) insertImported(ctx context.Context, tx *sqlstore.Tx, z Zone, sets []RecordSet) error {
	for _, rs := range sets {
		if err := normalizeRecordSet(&rs); err != nil {
			return err
		}
		rs.ID, rs.ZoneID, rs.ZoneName, rs.ProjectID = newID(), z.ID, z.Name, z.ProjectID
		rs.Status, rs.Action, rs.Version, rs.CreatedAt, rs.UpdatedAt = Pending, ActionCreate, 1, z.CreatedAt, z.CreatedAt
		if err := checkPlacement(ctx, tx, z, rs); err != nil {
			return err
		}
		if err := s.checkRecordQuota(ctx, tx, z, 1, len(rs.Records), len(rs.Records)); err != nil {
			return err
		}
		if err := insertRecordSet(ctx, tx, rs, z.Serial); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "recordset", rs.ID, rs.ProjectID, watch.Create, rs); err != nil {
			return err
		}
	}
	return nil
}

// The messages of Designate's _import_zone.
const (
	msgNoOrigin  = "The $ORIGIN statement is required and must be the first statement in the zonefile."
	msgMalformed = "Malformed zonefile."
	msgNoSOA     = "An SOA record is required."
)

// parseZoneFile reads a zone file with miekg/dns's zone parser into a
// zone (name, email, ttl, serial, retry, expire from its SOA) and its
// recordsets in the order of the file (one per name and type, the first
// record's TTL), without the SOA and the apex NS. msg is Designate's
// message for a file it refuses.
func parseZoneFile(text string) (Zone, []RecordSet, string) {
	origin, ok := firstOrigin(text)
	if !ok {
		return Zone{}, nil, msgNoOrigin
	}
	zp := mdns.NewZoneParser(strings.NewReader(text), origin, "")
	zp.SetIncludeAllowed(false)
	var soa *mdns.SOA
	var sets []RecordSet
	index := map[string]int{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		name, typ := strings.ToLower(h.Name), mdns.TypeToString[h.Rrtype]
		if s, isSOA := rr.(*mdns.SOA); isSOA {
			if name == origin && soa == nil {
				soa = s
			}
			continue
		}
		if typ == "NS" && name == origin {
			continue
		}
		data := strings.TrimPrefix(rr.String(), h.String())
		k := name + " " + typ
		if i, seen := index[k]; seen {
			sets[i].Records = append(sets[i].Records, data)
			continue
		}
		rs := RecordSet{Name: name, Type: typ, Records: []string{data}}
		if h.Ttl != 0 {
			ttl := int(h.Ttl)
			rs.TTL = &ttl
		}
		index[k] = len(sets)
		sets = append(sets, rs)
	}
	if zp.Err() != nil {
		return Zone{}, nil, msgMalformed
	}
	if soa == nil {
		return Zone{}, nil, msgNoSOA
	}
	z := Zone{Name: origin, Email: mboxEmail(soa.Mbox), TTL: int(soa.Hdr.Ttl), Serial: soa.Serial, Retry: int(soa.Retry),
		Expire: int(soa.Expire), Type: Primary}
	return z, sets, ""
}

// firstOrigin returns the name of the file's first $ORIGIN, which must
// come before any record (only $TTL may precede it), lowercase.
func firstOrigin(text string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 || strings.EqualFold(f[0], "$TTL") {
			continue
		}
		if !strings.EqualFold(f[0], "$ORIGIN") || len(f) != 2 || !mdns.IsFqdn(f[1]) {
			return "", false
		}
		if _, ok := mdns.IsDomainName(f[1]); !ok {
			return "", false
		}
		return strings.ToLower(f[1]), true
	}
	return "", false
}

// mboxEmail is Designate's _soa_to_normal: the SOA's RNAME as an email,
// its first unescaped dot the '@'.
func mboxEmail(mbox string) string {
	mbox = strings.TrimSuffix(mbox, ".")
	for i := 0; i < len(mbox); i++ {
		switch mbox[i] {
		case '\\':
			i++
		case '.':
			return strings.ReplaceAll(mbox[:i], `\.`, ".") + "@" + mbox[i+1:]
		}
	}
	return mbox
}

// CreateExport exports a zone the viewer sees: the export is COMPLETE at
// once, its file served by ExportFile. A zone with more recordsets than
// the project's api_export_size is a 413, as Designate checks it before
// it accepts the export.
func (s *Store) CreateExport(ctx context.Context, v Viewer, zoneID string) (ZoneTask, error) {
	if err := v.check(); err != nil {
		return ZoneTask{}, err
	}
	now := s.now()
	t := ZoneTask{ID: newID(), ProjectID: v.Project, Type: TaskExport, Status: TaskComplete, Version: 1, CreatedAt: now, UpdatedAt: now}
	t.Location = "designate://v2/zones/tasks/exports/" + t.ID + "/export"
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		z, err := visibleZone(ctx, tx, v, zoneID)
		if err != nil {
			return err
		}
		q, err := s.quota(ctx, tx, z.ProjectID)
		if err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_recordsets WHERE zone_id = ?", []any{z.ID}, &n); err != nil {
			return err
		}
		if q.APIExportSize >= 0 && n > q.APIExportSize {
			return overQuota("api_export_size")
		}
		t.ZoneID = z.ID
		if err := insertTask(ctx, tx, t); err != nil {
			return err
		}
		return s.record(ctx, tx, "zone_task", t.ID, t.ProjectID, watch.Create, t)
	})
	if err != nil {
		return ZoneTask{}, err
	}
	return t, nil
}

// ExportFile renders the zone of an export of the viewer's, as it is now,
// in Designate's export-zone template: $ORIGIN, $TTL, then one line per
// record, "<name> <ttl or nothing> IN <type> <data>", recordsets in the
// order they were made.
func (s *Store) ExportFile(ctx context.Context, v Viewer, exportID string) (string, error) {
	t, err := s.GetTask(ctx, v, TaskExport, exportID)
	if err != nil {
		return "", err
	}
	if t.Status != TaskComplete {
		return "", badRequest("Zone can not be exported synchronously")
	}
	var b strings.Builder
	err = s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		z, err := visibleZone(ctx, tx, v, t.ZoneID)
		if err != nil {
			return err
		}
		sets, err := queryRecordSets(ctx, tx, "SELECT "+rsCols+rsFrom+` WHERE rs.zone_id = ?
			ORDER BY rs.created_at, CASE rs.type WHEN 'SOA' THEN 0 WHEN 'NS' THEN 1 ELSE 2 END, rs.name, rs.type`, z.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "$ORIGIN %s\n$TTL %d\n\n", z.Name, z.TTL)
		for _, rs := range sets {
			ttl := ""
			if rs.TTL != nil {
				ttl = fmt.Sprint(*rs.TTL)
			}
			for _, data := range rs.Records {
				fmt.Fprintf(&b, "%s %s IN %s %s\n", rs.Name, ttl, rs.Type, data)
			}
		}
		return nil
	})
	return b.String(), err
}
