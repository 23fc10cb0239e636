package compute

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyrepr"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// AvailabilityZoneKey is the aggregate metadata key that holds its
// availability zone, as in Nova.
const AvailabilityZoneKey = "availability_zone"

// Nova's default_availability_zone (a compute host in no zoned
// aggregate) and internal_service_availability_zone (every other
// service).
const (
	DefaultAvailabilityZone  = "nova"
	InternalAvailabilityZone = "internal"
)

// Aggregate is a Nova host aggregate: a named set of compute hosts with
// metadata, one key of which may be the hosts' availability zone.
//
// The integrator mirrors membership into Placement's provider aggregates
// under UUID, as Nova does; the Store does not.
type Aggregate struct {
	ID   int64  `json:"id"`
	UUID string `json:"uuid"`
	Name string `json:"name"`
	// AvailabilityZone is Metadata["availability_zone"] ("" for none),
	// kept beside it as Nova shows it.
	AvailabilityZone string            `json:"availability_zone"`
	Hosts            []string          `json:"hosts"`    // sorted
	Metadata         map[string]string `json:"metadata"` // includes the zone
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        *time.Time        `json:"updated_at"` // nil until the first update
}

// AggregateUpdate changes an aggregate's name or availability zone (nil
// leaves it). A zone of "" is refused, as Nova refuses a null one.
type AggregateUpdate struct {
	Name             *string
	AvailabilityZone *string
}

// Nova's exceptions: the class name in Type, its message.
func novaError(kind fault.Kind, typ, format string, args ...any) error {
	return &fault.Error{Kind: kind, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// novaValidation is Nova's JSON-schema refusal of field's value. The
// message names the field already, as Nova's does, so the error carries
// no Field (the API edge would name it a second time).
func novaValidation(field string, value any, format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "ValidationError",
		Message: fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. ", field, pyStr(value)) + fmt.Sprintf(format, args...)}
}

// invalidName is Nova's refusal of a value that fails a name format
// (an InvalidName raised by the format checker).
func invalidName(reason string) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "ValidationError",
		Message: "An invalid 'name' value was provided. The name must be: " + reason}
}

// pyStr is str(value) in Python, as Nova's "Value: %s" shows it.
func pyStr(value any) string {
	if s, ok := value.(string); ok {
		return s
	}
	return fmt.Sprint(value)
}

// pyRepr quotes s as Python's repr does, which Nova's messages show.
func pyRepr(s string) string { return pyrepr.String(s) }

// pyList formats a list of strings as Python prints it.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = pyRepr(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// pyDict formats metadata as Python prints a dict (None for nil).
func pyDict(md map[string]*string) string {
	var items []string
	for _, k := range slices.Sorted(maps.Keys(md)) {
		v := "None"
		if md[k] != nil {
			v = pyRepr(*md[k])
		}
		items = append(items, pyRepr(k)+": "+v)
	}
	return "{" + strings.Join(items, ", ") + "}"
}

// pyPrintable is Nova's _is_printable over the characters its name
// regexes span (below U+FFFF: an emoji is not printable to Nova): a
// letter, mark, number, punctuation, symbol or space separator (Zs);
// not a control, format, private-use or unassigned character, nor a
// line or paragraph separator.
func pyPrintable(r rune) bool { return r < 0xFFFF && (unicode.IsPrint(r) || unicode.Is(unicode.Zs, r)) }

// pyEnd is s as Nova's name patterns see it: they end in '$', which
// Python's re also matches before a final newline, so one trailing
// "\n" passes (and normalize_name strips it where Nova calls it).
func pyEnd(s string) string { return strings.TrimSuffix(s, "\n") }

// validName is Nova's name format (az: az_name, without ':'): printable
// characters, the first and the last not a space.
func validName(v string, az bool) bool {
	core := pyEnd(v)
	if core == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(core)
	last, _ := utf8.DecodeLastRuneInString(core)
	if unicode.Is(unicode.Zs, first) || unicode.Is(unicode.Zs, last) {
		return false
	}
	for _, r := range core {
		if !pyPrintable(r) || az && r == ':' {
			return false
		}
	}
	return true
}

// validSpacedName is Nova's name_with_leading_trailing_spaces format:
// printable characters, at least one of them not a space.
func validSpacedName(v string) bool {
	solid := false
	for _, r := range pyEnd(v) {
		if !pyPrintable(r) {
			return false
		}
		solid = solid || !unicode.Is(unicode.Zs, r)
	}
	return solid
}

// nameLength is the minLength 1 and maxLength 255 of Nova's name
// schemas, counted in characters.
func nameLength(field, v string) error {
	switch n := utf8.RuneCountInString(v); {
	case n == 0:
		return novaValidation(field, v, "%s is too short", pyRepr(v))
	case n > 255:
		return novaValidation(field, v, "%s is too long", pyRepr(v))
	}
	return nil
}

// checkNovaName is Nova's parameter_types.name (spaced: its
// name_with_leading_trailing_spaces, which update_aggregate takes).
func checkNovaName(field, v string, spaced bool) error {
	if err := nameLength(field, v); err != nil {
		return err
	}
	switch {
	case spaced && !validSpacedName(v):
		return invalidName("printable characters with at least one non space character")
	case !spaced && !validName(v, false):
		return invalidName("printable characters. Can not start or end with whitespace.")
	}
	return nil
}

// checkZoneName is the aggregate schemas' availability_zone, oneOf
// az_name and null: a string that fails az_name fails both, and Nova's
// validator says only that.
func checkZoneName(v string) error {
	if n := utf8.RuneCountInString(v); n == 0 || n > 255 || !validName(v, true) {
		return novaValidation(AvailabilityZoneKey, v, "%s is not valid under any of the given schemas", pyRepr(v))
	}
	return nil
}

// normalizeName is Nova's common.normalize_name: the name stripped.
func normalizeName(v string) string { return strings.TrimSpace(v) }

// fqdnPattern is Nova's parameter_types.fqdn, what a host name may be.
var fqdnPattern = regexp.MustCompile(`^[a-zA-Z0-9-._]*$`)

// metadataKeyPattern is the key pattern of Nova's parameter_types.metadata
// as Python's re.search applies it: its '$' also matches before a final
// newline, so a key may end in one (metadataKeyText is the pattern as
// Nova's messages show it).
var metadataKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}\n?$`)

const metadataKeyText = `^[a-zA-Z0-9-_:. ]{1,255}$`

// checkHostName is parameter_types.fqdn: 1 to 255 characters of
// letters, digits and "-._".
func checkHostName(host string) error {
	switch n := utf8.RuneCountInString(host); {
	case n == 0:
		return novaValidation("host", host, "'' is too short")
	case n > 255:
		return novaValidation("host", host, "%s is too long", pyRepr(host))
	case !fqdnPattern.MatchString(host):
		return novaValidation("host", host, "%s does not match %s", pyRepr(host), pyRepr(fqdnPattern.String()))
	}
	return nil
}

// CheckAggregateName is the aggregate schemas' name check (update: the
// update schema's, which allows spaces around the name), for an API
// that must refuse a request before its policy check, as Nova's
// validation does; CreateAggregate and UpdateAggregate check again.
func CheckAggregateName(name string, update bool) error { return checkNovaName("name", name, update) }

// CheckZoneName is the aggregate schemas' check of an availability_zone
// given as a string (oneOf az_name and null), for the API as
// CheckAggregateName is.
func CheckZoneName(az string) error { return checkZoneName(az) }

// CheckHostName is Nova's parameter_types.fqdn check of a host, for the
// API as CheckAggregateName is.
func CheckHostName(host string) error { return checkHostName(host) }

// CheckAggregateMetadata is set_metadata's check of the keys and of the
// values' lengths, for the API as CheckAggregateName is.
func CheckAggregateMetadata(md map[string]*string) error { return checkMetadata(md) }

func aggregateNotFound(id int64) error {
	return novaError(fault.NotFound, "AggregateNotFound", "Aggregate %d could not be found.", id)
}

func aggregateNameExists(name string) error {
	return novaError(fault.Conflict, "AggregateNameExists", "Aggregate %s already exists.", name)
}

// Nova's aggregate actions, each with its InvalidAggregateAction class:
// a refused add_host is a 409, the others 400, as Nova's API answers.
const (
	aggregateAdd        = "InvalidAggregateActionAdd"
	aggregateDelete     = "InvalidAggregateActionDelete"
	aggregateUpdate     = "InvalidAggregateActionUpdate"
	aggregateUpdateMeta = "InvalidAggregateActionUpdateMeta"
)

func invalidAggregateAction(action string, id int64, reason string) error {
	switch action {
	case aggregateAdd:
		return novaError(fault.Conflict, action, "Cannot add host to aggregate %d. Reason: %s.", id, reason)
	case aggregateDelete:
		return novaError(fault.BadRequest, action, "Cannot remove host from aggregate %d. Reason: %s.", id, reason)
	case aggregateUpdate:
		return novaError(fault.BadRequest, action, "Cannot update aggregate %d. Reason: %s.", id, reason)
	}
	return novaError(fault.BadRequest, action, "Cannot update metadata of aggregate %d. Reason: %s.", id, reason)
}

// novaQuerier is a *sqlstore.DB or a *sqlstore.Tx.
type novaQuerier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// nextID draws the next integer id of seq ("aggregate", "service"),
// taking the sequence's row lock until the transaction ends.
func nextID(ctx context.Context, tx *sqlstore.Tx, seq string) (int64, error) {
	var id int64
	err := tx.Get(ctx, "UPDATE compute_sequences SET last = last + 1 WHERE name = ? RETURNING last", []any{seq}, &id)
	if err != nil {
		return 0, fmt.Errorf("compute: next %s id: %w", seq, err)
	}
	return id, nil
}

// lockAggregates takes the lock every aggregate write takes first (the
// 'aggregate' sequence row): writes of aggregates, their hosts and their
// metadata take turns, so a host's zone and names stay unique. Lock
// order: this lock, then a service row, then the feed.
func lockAggregates(ctx context.Context, tx *sqlstore.Tx) error {
	if _, err := tx.Exec(ctx, "UPDATE compute_sequences SET last = last WHERE name = 'aggregate'"); err != nil {
		return fmt.Errorf("compute: lock aggregates: %w", err)
	}
	return nil
}

// loadAggregates reads the aggregates matching cond (on alias a) with
// their hosts and metadata in one query, by id.
func loadAggregates(ctx context.Context, q novaQuerier, cond string, args ...any) ([]Aggregate, error) {
	rows, err := q.Query(ctx, `SELECT a.id, 0, a.uuid, a.name, a.created_at, a.updated_at FROM compute_aggregates a WHERE `+cond+`
		UNION ALL SELECT a.id, 1, h.host, '', 0, NULL FROM compute_aggregates a
			JOIN compute_aggregate_hosts h ON h.aggregate_id = a.id WHERE `+cond+`
		UNION ALL SELECT a.id, 2, m.meta_key, m.meta_value, 0, NULL FROM compute_aggregates a
			JOIN compute_aggregate_metadata m ON m.aggregate_id = a.id WHERE `+cond+`
		ORDER BY 1, 2, 3`, slices.Concat(args, args, args)...)
	if err != nil {
		return nil, fmt.Errorf("compute: read aggregates: %w", err)
	}
	defer rows.Close()
	var out []Aggregate
	for rows.Next() {
		var id, created int64
		var part int
		var k, v string
		var updated *int64
		if err := rows.Scan(&id, &part, &k, &v, &created, &updated); err != nil {
			return nil, fmt.Errorf("compute: read aggregates: %w", err)
		}
		switch part {
		case 0:
			a := Aggregate{ID: id, UUID: k, Name: v, Hosts: []string{}, Metadata: map[string]string{},
				CreatedAt: time.UnixMicro(created).UTC()}
			if updated != nil {
				t := time.UnixMicro(*updated).UTC()
				a.UpdatedAt = &t
			}
			out = append(out, a)
		case 1:
			a := &out[len(out)-1]
			a.Hosts = append(a.Hosts, k)
		case 2:
			a := &out[len(out)-1]
			a.Metadata[k] = v
			if k == AvailabilityZoneKey {
				a.AvailabilityZone = v
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute: read aggregates: %w", err)
	}
	return out, nil
}

func aggregateByID(ctx context.Context, q novaQuerier, id int64) (Aggregate, error) {
	aggs, err := loadAggregates(ctx, q, "a.id = ?", id)
	if err != nil {
		return Aggregate{}, err
	}
	if len(aggs) == 0 {
		return Aggregate{}, aggregateNotFound(id)
	}
	return aggs[0], nil
}

// CreateAggregate stores an aggregate named name (unique: Nova's
// AggregateNameExists), in availability zone az when not "". Both are
// checked as Nova's create schema checks them, then stripped as Nova's
// API does (normalize_name).
func (s *Store) CreateAggregate(ctx context.Context, name, az string) (Aggregate, error) {
	if err := checkNovaName("name", name, false); err != nil {
		return Aggregate{}, err
	}
	if az != "" {
		if err := checkZoneName(az); err != nil {
			return Aggregate{}, err
		}
	}
	name, az = normalizeName(name), normalizeName(az)
	now := s.now()
	a := Aggregate{UUID: uuid.NewString(), Name: name, AvailabilityZone: az, Hosts: []string{}, Metadata: map[string]string{}, CreatedAt: now}
	if az != "" {
		a.Metadata[AvailabilityZoneKey] = az
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if a.ID, err = nextID(ctx, tx, "aggregate"); err != nil { // also the aggregates' lock
			return err
		}
		if err := checkAggregateName(ctx, tx, 0, name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO compute_aggregates (id, uuid, name, created_at) VALUES (?, ?, ?, ?)",
			a.ID, a.UUID, a.Name, now.UnixMicro()); err != nil {
			return fmt.Errorf("compute: create aggregate: %w", err)
		}
		if az != "" {
			if err := setAggregateMeta(ctx, tx, a.ID, AvailabilityZoneKey, &az); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "aggregate", a.UUID, "", watch.Create, a)
	})
	if err != nil {
		return Aggregate{}, err
	}
	return a, nil
}

// checkAggregateName refuses name if an aggregate other than id has it.
// The caller holds the aggregates' lock.
func checkAggregateName(ctx context.Context, tx *sqlstore.Tx, id int64, name string) error {
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM compute_aggregates WHERE name = ? AND id <> ?", []any{name, id}, &n); err != nil {
		return fmt.Errorf("compute: aggregate name: %w", err)
	}
	if n > 0 {
		return aggregateNameExists(name)
	}
	return nil
}

// setAggregateMeta sets key to *value, or deletes it when value is nil.
func setAggregateMeta(ctx context.Context, tx *sqlstore.Tx, id int64, key string, value *string) error {
	var err error
	if value == nil {
		_, err = tx.Exec(ctx, "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ? AND meta_key = ?", id, key)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO compute_aggregate_metadata (aggregate_id, meta_key, meta_value) VALUES (?, ?, ?)
			ON CONFLICT (aggregate_id, meta_key) DO UPDATE SET meta_value = excluded.meta_value`, id, key, *value)
	}
	if err != nil {
		return fmt.Errorf("compute: aggregate %d metadata %q: %w", id, key, err)
	}
	return nil
}

// Aggregate returns aggregate id, with its hosts and metadata.
func (s *Store) Aggregate(ctx context.Context, id int64) (Aggregate, error) {
	return aggregateByID(ctx, s.db, id)
}

// Aggregates lists every aggregate by id.
func (s *Store) Aggregates(ctx context.Context) ([]Aggregate, error) {
	aggs, err := loadAggregates(ctx, s.db, "1 = 1")
	if aggs == nil && err == nil {
		aggs = []Aggregate{}
	}
	return aggs, err
}

// HostAggregates lists the aggregates holding host (Nova's
// AggregateList.get_by_host), by id, in one query.
func (s *Store) HostAggregates(ctx context.Context, host string) ([]Aggregate, error) {
	aggs, err := loadAggregates(ctx, s.db, "a.id IN (SELECT aggregate_id FROM compute_aggregate_hosts WHERE host = ?)", host)
	if aggs == nil && err == nil {
		aggs = []Aggregate{}
	}
	return aggs, err
}

// AggregatesByHost maps each host that is in an aggregate to its
// aggregates (by id), from one query: the scheduler's view.
func (s *Store) AggregatesByHost(ctx context.Context) (map[string][]Aggregate, error) {
	aggs, err := loadAggregates(ctx, s.db, "1 = 1")
	if err != nil {
		return nil, err
	}
	out := map[string][]Aggregate{}
	for _, a := range aggs {
		for _, h := range a.Hosts {
			out[h] = append(out[h], a)
		}
	}
	return out, nil
}

// checkZone is Nova's is_safe_to_update_az: aggregate a may take zone az
// (on its hosts, or on hosts when given) only if no host is in another
// aggregate of another zone. The caller holds the aggregates' lock.
//
// Nova also refuses to change the zone of an aggregate whose hosts run
// instances; the Store does not know instances and leaves that check to
// the caller.
func checkZone(ctx context.Context, tx *sqlstore.Tx, action string, a Aggregate, az string, hosts []string) error {
	if az == "" {
		return invalidAggregateAction(action, a.ID, fmt.Sprintf("Aggregate %s does not support empty named availability zone", a.Name))
	}
	if hosts == nil {
		hosts = a.Hosts
	}
	if len(hosts) == 0 {
		return nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(hosts)), ", ")
	args := append([]any{AvailabilityZoneKey, a.ID, az}, stringsToAny(hosts)...)
	rows, err := tx.Query(ctx, `SELECT DISTINCT m.meta_value FROM compute_aggregate_hosts h
		JOIN compute_aggregate_metadata m ON m.aggregate_id = h.aggregate_id AND m.meta_key = ?
		WHERE h.aggregate_id <> ? AND m.meta_value <> ? AND h.host IN (`+marks+`) ORDER BY 1`, args...)
	if err != nil {
		return fmt.Errorf("compute: zones of hosts: %w", err)
	}
	defer rows.Close()
	var zones []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			return fmt.Errorf("compute: zones of hosts: %w", err)
		}
		zones = append(zones, z)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compute: zones of hosts: %w", err)
	}
	if len(zones) > 0 {
		return invalidAggregateAction(action, a.ID, "One or more hosts already in availability zone(s) "+pyList(zones))
	}
	return nil
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// UpdateAggregate renames aggregate id or changes its availability zone
// (Nova's update_aggregate: the zone must be one its hosts may take).
// The name may have leading and trailing spaces (Nova's update schema
// allows them), which are stripped as Nova's API does; the zone is kept
// as given, as Nova keeps it.
func (s *Store) UpdateAggregate(ctx context.Context, id int64, u AggregateUpdate) (Aggregate, error) {
	if u.Name == nil && u.AvailabilityZone == nil {
		return Aggregate{}, novaValidation("aggregate", "{}", "{} is not valid under any of the given schemas")
	}
	if u.Name != nil {
		if err := checkNovaName("name", *u.Name, true); err != nil {
			return Aggregate{}, err
		}
		name := normalizeName(*u.Name)
		u.Name = &name
	}
	if u.AvailabilityZone != nil && *u.AvailabilityZone != "" {
		if err := checkZoneName(*u.AvailabilityZone); err != nil {
			return Aggregate{}, err
		}
	}
	return s.writeAggregate(ctx, id, func(tx *sqlstore.Tx, a *Aggregate) error {
		if u.Name != nil && *u.Name != a.Name {
			if err := checkAggregateName(ctx, tx, id, *u.Name); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE compute_aggregates SET name = ? WHERE id = ?", *u.Name, id); err != nil {
				return fmt.Errorf("compute: rename aggregate %d: %w", id, err)
			}
		}
		if u.AvailabilityZone != nil {
			if err := checkZone(ctx, tx, aggregateUpdate, *a, *u.AvailabilityZone, nil); err != nil {
				return err
			}
			return setAggregateMeta(ctx, tx, id, AvailabilityZoneKey, u.AvailabilityZone)
		}
		return nil
	})
}

// writeAggregate runs change on aggregate id under the aggregates' lock,
// stamps updated_at and records the aggregate as it is after.
func (s *Store) writeAggregate(ctx context.Context, id int64, change func(*sqlstore.Tx, *Aggregate) error) (Aggregate, error) {
	var out Aggregate
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockAggregates(ctx, tx); err != nil {
			return err
		}
		a, err := aggregateByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := change(tx, &a); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE compute_aggregates SET updated_at = ? WHERE id = ?", s.now().UnixMicro(), id); err != nil {
			return fmt.Errorf("compute: update aggregate %d: %w", id, err)
		}
		if out, err = aggregateByID(ctx, tx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, "aggregate", out.UUID, "", watch.Update, out)
	})
	if err != nil {
		return Aggregate{}, err
	}
	return out, nil
}

// checkMetadata is Nova's metadata_with_null schema: keys of 1 to 255
// letters, digits and "-_:. ", values of at most 255 characters or nil.
// As jsonschema checks it, the values of the keys that match come first,
// then every key that does not, named together.
func checkMetadata(md map[string]*string) error {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if !metadataKeyPattern.MatchString(k) {
			bad = append(bad, pyRepr(k))
			continue
		}
		if v := md[k]; v != nil && utf8.RuneCountInString(*v) > 255 {
			return novaValidation(k, *v, "%s is too long", pyRepr(*v))
		}
	}
	if len(bad) > 0 {
		verb := "does"
		if len(bad) > 1 {
			verb = "do"
		}
		return novaValidation("metadata", pyDict(md), "%s %s not match any of the regexes: %s",
			strings.Join(bad, ", "), verb, pyRepr(metadataKeyText))
	}
	return nil
}

// SetAggregateMetadata is Nova's set_metadata: each key of md is set to
// its value, or deleted when its value is nil; keys not in md stay. A
// new availability_zone must be one the aggregate's hosts may take, and
// may not be removed (Nova's "does not support empty named availability
// zone").
func (s *Store) SetAggregateMetadata(ctx context.Context, id int64, md map[string]*string) (Aggregate, error) {
	if err := checkMetadata(md); err != nil {
		return Aggregate{}, err
	}
	return s.writeAggregate(ctx, id, func(tx *sqlstore.Tx, a *Aggregate) error {
		if v, ok := md[AvailabilityZoneKey]; ok {
			az := ""
			if v != nil {
				az = *v
			}
			if err := checkZone(ctx, tx, aggregateUpdateMeta, *a, az, nil); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(md)) {
			if err := setAggregateMeta(ctx, tx, id, k, md[k]); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteAggregate deletes aggregate id, which must have no hosts (Nova's
// InvalidAggregateActionDelete).
func (s *Store) DeleteAggregate(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockAggregates(ctx, tx); err != nil {
			return err
		}
		a, err := aggregateByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(a.Hosts) > 0 {
			return invalidAggregateAction(aggregateDelete, id, "Host aggregate is not empty")
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ?", id); err != nil {
			return fmt.Errorf("compute: delete aggregate %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_aggregates WHERE id = ?", id); err != nil {
			return fmt.Errorf("compute: delete aggregate %d: %w", id, err)
		}
		return s.record(ctx, tx, "aggregate", a.UUID, "", watch.Delete, nil)
	})
}

// AddAggregateHost puts host, which must run a nova-compute service
// (Nova's ComputeHostNotFound), in aggregate id: Nova's
// AggregateHostExists if it is there, InvalidAggregateActionAdd if the
// aggregate's zone is not the one of the host's other aggregates.
func (s *Store) AddAggregateHost(ctx context.Context, id int64, host string) (Aggregate, error) {
	if err := checkHostName(host); err != nil {
		return Aggregate{}, err
	}
	var out Aggregate
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockAggregates(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM compute_services WHERE binary_name = ? AND host = ?",
			[]any{NovaCompute, host}, &n); err != nil {
			return fmt.Errorf("compute: service of host %q: %w", host, err)
		}
		if n == 0 {
			return novaError(fault.NotFound, "ComputeHostNotFound", "Compute host %s could not be found.", host)
		}
		a, err := aggregateByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, zoned := a.Metadata[AvailabilityZoneKey]; zoned {
			if err := checkZone(ctx, tx, aggregateAdd, a, a.AvailabilityZone, []string{host}); err != nil {
				return err
			}
		}
		if slices.Contains(a.Hosts, host) {
			return novaError(fault.Conflict, "AggregateHostExists", "Aggregate %d already has host %s.", id, host)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO compute_aggregate_hosts (aggregate_id, host) VALUES (?, ?)", id, host); err != nil {
			return fmt.Errorf("compute: add host %q to aggregate %d: %w", host, id, err)
		}
		a.Hosts = append(a.Hosts, host)
		slices.Sort(a.Hosts)
		out = a
		if err := s.mirrorAggregate(ctx, tx, host, a.UUID, true); err != nil {
			return err
		}
		return s.record(ctx, tx, "aggregate", a.UUID, "", watch.Update, a)
	})
	if err != nil {
		return Aggregate{}, err
	}
	return out, nil
}

// RemoveAggregateHost takes host out of aggregate id (Nova's
// AggregateHostNotFound if it is not there).
func (s *Store) RemoveAggregateHost(ctx context.Context, id int64, host string) (Aggregate, error) {
	var out Aggregate
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockAggregates(ctx, tx); err != nil {
			return err
		}
		a, err := aggregateByID(ctx, tx, id)
		if err != nil {
			return err
		}
		i := slices.Index(a.Hosts, host)
		if i < 0 {
			return novaError(fault.NotFound, "AggregateHostNotFound", "Aggregate %d has no host %s.", id, host)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_aggregate_hosts WHERE aggregate_id = ? AND host = ?", id, host); err != nil {
			return fmt.Errorf("compute: remove host %q from aggregate %d: %w", host, id, err)
		}
		a.Hosts = slices.Delete(a.Hosts, i, i+1)
		out = a
		if err := s.mirrorAggregate(ctx, tx, host, a.UUID, false); err != nil {
			return err
		}
		return s.record(ctx, tx, "aggregate", a.UUID, "", watch.Update, a)
	})
	if err != nil {
		return Aggregate{}, err
	}
	return out, nil
}

// removeHostFromAggregates takes host out of every aggregate (a deleted
// compute service's), recording each. The caller holds the aggregates'
// lock.
func (s *Store) removeHostFromAggregates(ctx context.Context, tx *sqlstore.Tx, host string) error {
	aggs, err := loadAggregates(ctx, tx, "a.id IN (SELECT aggregate_id FROM compute_aggregate_hosts WHERE host = ?)", host)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM compute_aggregate_hosts WHERE host = ?", host); err != nil {
		return fmt.Errorf("compute: remove host %q from aggregates: %w", host, err)
	}
	for _, a := range aggs {
		a.Hosts = slices.DeleteFunc(a.Hosts, func(h string) bool { return h == host })
		if err := s.mirrorAggregate(ctx, tx, host, a.UUID, false); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "aggregate", a.UUID, "", watch.Update, a); err != nil {
			return err
		}
	}
	return nil
}
