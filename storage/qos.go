package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// QoSSpecs are Cinder's QoS specs: named key/value specs for a
// consumer, which a volume type names (VolumeType.QoSSpecsID). Specs a
// front end consumes (front-end, both) go to the hosts in the
// connection info of the type's volumes (ConnectionInfo's qos_specs).
type QoSSpecs struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Consumer string `json:"consumer"` // QoSBackEnd, QoSFrontEnd or QoSBoth
	// Specs are the keys and values; a value may be nil (Cinder's null).
	Specs     map[string]*string `json:"specs"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt *time.Time         `json:"updated_at"` // nil until the first change
}

// The consumers of QoS specs (Cinder's QoSConsumerValues).
const (
	QoSBackEnd  = "back-end"
	QoSFrontEnd = "front-end"
	QoSBoth     = "both"
)

// QoSConsumerKey is the spec key that names the consumer in a create or
// an update (it is not kept among the specs).
const QoSConsumerKey = "consumer"

// QoSAssociation is an entity a QoS specs is associated with: a volume
// type (Cinder's only kind).
type QoSAssociation struct {
	AssociationType string `json:"association_type"` // "volume_type"
	Name            string `json:"name"`
	ID              string `json:"id"`
}

func qosNotFound(id string) error {
	return cinderError(fault.NotFound, "QoSSpecsNotFound", "No such QoS spec %s.", id)
}

// invalidQoS is Cinder's InvalidQoSSpecs (400).
func invalidQoS(format string, args ...any) error {
	return cinderError(fault.BadRequest, "InvalidQoSSpecs", "Invalid qos specs: "+format, args...)
}

// errBadConsumer is the message Cinder's QualityOfServiceSpecs object
// raises for a consumer it does not know (its field's repr included).
var errBadConsumer = invalidQoS("Valid consumer of QoS specs are: QoSConsumerValues(default=<class " +
	"'oslo_versionedobjects.fields.UnspecifiedDefault'>,nullable=False,valid_values=('back-end', 'front-end', 'both'))")

// CheckQoSSpecsItem is Cinder's validate_dictionary_string_length on one
// key and value: a key of 1 to 255 characters, a value (nil allowed) of
// at most 255.
func CheckQoSSpecsItem(key string, value *string) error {
	if err := checkText("qos_specs", key, len(key)); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(key); n < 1 {
		return invalidInput("Key \"%s\" has %d characters, less than 1.", key, n)
	} else if n > maxText {
		return invalidInput("Key \"%s\" has %d characters, more than 255.", key, n)
	}
	if value == nil {
		return nil
	}
	if err := checkText("qos_specs", *value, len(*value)); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(*value); n > maxText {
		return invalidInput("Value for key \"%s\" has %d characters, more than 255.", key, n)
	}
	return nil
}

// consumerOf takes the consumer out of specs (a copy): def when absent
// or null (the object's default), else it must be one of Cinder's.
func consumerOf(specs map[string]*string, def string) (string, map[string]*string, error) {
	rest := maps.Clone(specs)
	if rest == nil {
		rest = map[string]*string{}
	}
	c, ok := rest[QoSConsumerKey]
	delete(rest, QoSConsumerKey)
	if !ok || c == nil {
		return def, rest, nil
	}
	switch *c {
	case QoSBackEnd, QoSFrontEnd, QoSBoth:
		return *c, rest, nil
	}
	return "", nil, errBadConsumer
}

// CreateQoSSpecs is Cinder's qos_specs.create: specs' keys and values
// checked (InvalidInput), the consumer taken from specs' "consumer"
// (back-end when absent, InvalidQoSSpecs when not Cinder's), the name
// (stripped by the API) once among QoS specs (QoSSpecsExists, 409).
func (s *Store) CreateQoSSpecs(ctx context.Context, name string, specs map[string]*string) (QoSSpecs, error) {
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if err := CheckQoSSpecsItem(k, specs[k]); err != nil {
			return QoSSpecs{}, err
		}
	}
	consumer, rest, err := consumerOf(specs, QoSBackEnd)
	if err != nil {
		return QoSSpecs{}, err
	}
	if err := checkText("name", name, maxText); err != nil {
		return QoSSpecs{}, err
	}
	if strings.TrimSpace(name) == "" {
		return QoSSpecs{}, cinderError(fault.BadRequest, "InvalidName", "An invalid 'name' value was provided. The 'name' can not be empty.")
	}
	q := QoSSpecs{ID: uuid.NewString(), Name: name, Consumer: consumer, Specs: rest, CreatedAt: s.now()}
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_qos_specs WHERE name = ?", []any{name}, &n); err != nil {
			return fmt.Errorf("storage: read qos specs: %w", err)
		}
		if n > 0 {
			return cinderError(fault.Conflict, "QoSSpecsExists", "QoS Specs %s already exists.", name)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO storage_qos_specs (id, name, consumer, created_at) VALUES (?, ?, ?, ?)",
			q.ID, q.Name, q.Consumer, q.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("storage: create qos specs: %w", err)
		}
		if err := putQoSItems(ctx, tx, q.ID, rest); err != nil {
			return err
		}
		return s.record(ctx, tx, "qos_specs", q.ID, "", watch.Create, q)
	})
	if err != nil {
		return QoSSpecs{}, err
	}
	return q, nil
}

func putQoSItems(ctx context.Context, tx *sqlstore.Tx, id string, specs map[string]*string) error {
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if _, err := tx.Exec(ctx, "DELETE FROM storage_qos_spec_items WHERE specs_id = ? AND spec_key = ?", id, k); err != nil {
			return fmt.Errorf("storage: set qos specs %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO storage_qos_spec_items (specs_id, spec_key, spec_value) VALUES (?, ?, ?)",
			id, k, specs[k]); err != nil {
			return fmt.Errorf("storage: set qos specs %s: %w", id, err)
		}
	}
	return nil
}

const qosCols = "q.id, q.name, q.consumer, q.created_at, q.updated_at"

// queryQoS reads the QoS specs of a query selecting qosCols, with their
// specs.
func queryQoS(ctx context.Context, tx querier, query string, args ...any) ([]QoSSpecs, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read qos specs: %w", err)
	}
	defer rows.Close()
	out := []QoSSpecs{}
	at := map[string]int{}
	for rows.Next() {
		var q QoSSpecs
		var created int64
		var updated *int64
		if err := rows.Scan(&q.ID, &q.Name, &q.Consumer, &created, &updated); err != nil {
			return nil, fmt.Errorf("storage: read qos specs: %w", err)
		}
		q.CreatedAt = time.UnixMicro(created).UTC()
		if updated != nil {
			u := time.UnixMicro(*updated).UTC()
			q.UpdatedAt = &u
		}
		q.Specs = map[string]*string{}
		at[q.ID] = len(out)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: read qos specs: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, len(out))
	for i, q := range out {
		ids[i] = q.ID
	}
	items, err := tx.Query(ctx, "SELECT specs_id, spec_key, spec_value FROM storage_qos_spec_items WHERE specs_id IN (?"+
		strings.Repeat(", ?", len(ids)-1)+")", ids...)
	if err != nil {
		return nil, fmt.Errorf("storage: read qos specs: %w", err)
	}
	defer items.Close()
	for items.Next() {
		var id, k string
		var v *string
		if err := items.Scan(&id, &k, &v); err != nil {
			return nil, fmt.Errorf("storage: read qos specs: %w", err)
		}
		out[at[id]].Specs[k] = v
	}
	return out, items.Err()
}

func qosByID(ctx context.Context, tx querier, id string) (*QoSSpecs, error) {
	if err := checkText("id", id, len(id)); err != nil {
		return nil, err
	}
	qs, err := queryQoS(ctx, tx, "SELECT "+qosCols+" FROM storage_qos_specs q WHERE q.id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, qosNotFound(id)
	}
	return &qs[0], nil
}

// QoSSpecs is Cinder's get_qos_specs: QoSSpecsNotFound when there is
// none with id.
func (s *Store) QoSSpecs(ctx context.Context, id string) (QoSSpecs, error) {
	var out *QoSSpecs
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		out, err = qosByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return QoSSpecs{}, err
	}
	return *out, nil
}

// QoSSpecsFilter selects and orders the QoS specs QoSSpecsList lists.
type QoSSpecsFilter struct {
	// ID keeps the one with that id, Name the one with that name (""
	// for all).
	ID, Name string
	// SortKeys (QoSSpecsSortKeys) and SortDirs order the list as
	// Cinder's; created_at and id end every order; newest first without
	// keys.
	SortKeys []string
	SortDirs []string
	// Marker is the id of the last of the previous page
	// (QoSSpecsNotFound when there is none); Limit the most to return
	// (0: all).
	Marker string
	Limit  int
}

// qosSortKeys are the columns of Cinder's quality_of_service_specs
// table that mean the same here (name is its value column, which
// Cinder's sort also takes).
var qosSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "q.id"}, "created_at": {Expr: "q.created_at"}, "updated_at": {Expr: "q.updated_at", Nullable: true},
	"value": {Expr: "q.name"},
}

// QoSSpecsSortKeys are the sort keys QoSSpecsList takes.
func QoSSpecsSortKeys() []string { return slices.Sorted(maps.Keys(qosSortKeys)) }

// QoSSpecsList lists the QoS specs f selects, in f's order, and whether
// more follow the page.
func (s *Store) QoSSpecsList(ctx context.Context, f QoSSpecsFilter) ([]QoSSpecs, bool, error) {
	order, err := sortOrder(qosSortKeys, "q.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	for _, x := range []string{f.ID, f.Name, f.Marker} {
		if err := checkText("filter", x, len(x)); err != nil {
			return nil, false, err
		}
	}
	cond, args := "1 = 1", []any{}
	if f.ID != "" {
		cond, args = cond+" AND q.id = ?", append(args, f.ID)
	}
	if f.Name != "" {
		cond, args = cond+" AND q.name = ?", append(args, f.Name)
	}
	return page(ctx, s.db, listing{Order: order, Table: "storage_qos_specs q", Alias: "q", Cols: qosCols, Conds: []string{cond}, Args: args,
		Marker: f.Marker, NotFound: qosNotFound, Limit: f.Limit, HardDeleted: true}, queryQoS)
}

// errQoSKept, returned by a change of writeQoS, commits what the change
// wrote (a type's association) without touching the QoS specs.
var errQoSKept = errors.New("storage: qos specs kept")

// writeQoS runs change on QoS specs id under the types' lock (an
// association changes a type) and records it as it is after; change
// returns errUnchanged to write nothing (the transaction rolled back),
// errQoSKept to keep what it wrote but leave the QoS specs as they are.
func (s *Store) writeQoS(ctx context.Context, id string, change func(*sqlstore.Tx, *QoSSpecs) error) (QoSSpecs, error) {
	var out QoSSpecs
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		q, err := qosByID(ctx, tx, id)
		if err != nil {
			return err
		}
		out = *q
		if err := change(tx, q); err == errQoSKept {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE storage_qos_specs SET updated_at = ? WHERE id = ?", s.now().UnixMicro(), id); err != nil {
			return fmt.Errorf("storage: update qos specs %s: %w", id, err)
		}
		after, err := qosByID(ctx, tx, id)
		if err != nil {
			return err
		}
		out = *after
		return s.record(ctx, tx, "qos_specs", id, "", watch.Update, out)
	})
	if err == errUnchanged {
		err = nil
	}
	return out, err
}

// UpdateQoSSpecs is Cinder's qos_specs.update: the keys of specs set
// (their values may be nil), "consumer" changing the consumer (nil sets
// Cinder's default, back-end); keys and values checked as Cinder's
// (InvalidQoSSpecs).
func (s *Store) UpdateQoSSpecs(ctx context.Context, id string, specs map[string]*string) (QoSSpecs, error) {
	return s.writeQoS(ctx, id, func(tx *sqlstore.Tx, q *QoSSpecs) error {
		for _, k := range slices.Sorted(maps.Keys(specs)) {
			if err := CheckQoSSpecsItem(k, specs[k]); err != nil {
				return invalidQoS("%s", fault.Message(err))
			}
		}
		consumer, rest, err := consumerOf(specs, QoSBackEnd)
		if err != nil {
			return err
		}
		_, setConsumer := specs[QoSConsumerKey]
		same := !setConsumer || consumer == q.Consumer
		for k, v := range rest {
			old, ok := q.Specs[k]
			same = same && ok && (old == nil) == (v == nil) && (v == nil || *old == *v)
		}
		if same {
			return errUnchanged
		}
		if setConsumer && consumer != q.Consumer {
			if _, err := tx.Exec(ctx, "UPDATE storage_qos_specs SET consumer = ? WHERE id = ?", consumer, id); err != nil {
				return fmt.Errorf("storage: update qos specs %s: %w", id, err)
			}
		}
		return putQoSItems(ctx, tx, id, rest)
	})
}

// DeleteQoSSpecsKeys is Cinder's delete_keys: every key must be among
// the specs (QoSSpecsKeyNotFound, 404, for the first that is not, and
// then nothing is deleted).
func (s *Store) DeleteQoSSpecsKeys(ctx context.Context, id string, keys []string) (QoSSpecs, error) {
	return s.writeQoS(ctx, id, func(tx *sqlstore.Tx, q *QoSSpecs) error {
		for _, k := range keys {
			if _, ok := q.Specs[k]; !ok {
				return cinderError(fault.NotFound, "QoSSpecsKeyNotFound", "QoS spec %s has no spec with key %s.", id, k)
			}
		}
		for _, k := range keys {
			if _, err := tx.Exec(ctx, "DELETE FROM storage_qos_spec_items WHERE specs_id = ? AND spec_key = ?", id, k); err != nil {
				return fmt.Errorf("storage: delete qos specs keys %s: %w", id, err)
			}
		}
		return nil
	})
}

// typesOfQoS are the types that name QoS specs id, by name.
func typesOfQoS(ctx context.Context, tx querier, id string) ([]VolumeType, error) {
	return queryTypes(ctx, tx, "SELECT "+typeCols+" FROM storage_volume_types t WHERE t.qos_specs_id = ? ORDER BY t.name, t.id", id)
}

// QoSAssociations are the volume types associated with QoS specs id
// (Cinder's get_associations), by name.
func (s *Store) QoSAssociations(ctx context.Context, id string) ([]QoSAssociation, error) {
	out := []QoSAssociation{}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := qosByID(ctx, tx, id); err != nil {
			return err
		}
		ts, err := typesOfQoS(ctx, tx, id)
		for _, t := range ts {
			out = append(out, QoSAssociation{AssociationType: "volume_type", Name: t.Name, ID: t.ID})
		}
		return err
	})
	return out, err
}

// setTypeQoS sets type t's QoS specs id (old, "" for none) in tx and
// records the type.
func (s *Store) setTypeQoS(ctx context.Context, tx *sqlstore.Tx, t VolumeType, qosID string) error {
	now := s.now()
	if _, err := tx.Exec(ctx, "UPDATE storage_volume_types SET qos_specs_id = ?, updated_at = ? WHERE id = ?",
		qosID, now.UnixMicro(), t.ID); err != nil {
		return fmt.Errorf("storage: associate volume type %s: %w", t.ID, err)
	}
	t.QoSSpecsID, t.UpdatedAt = qosID, &now
	return s.record(ctx, tx, "volume_type", t.ID, "", watch.Update, t)
}

// AssociateQoSSpecs is Cinder's associate_qos_with_type: the QoS specs
// (QoSSpecsNotFound), the type (VolumeTypeNotFound); a type has one QoS
// specs: one associated with others is refused (InvalidVolumeType), an
// association that exists changes nothing.
func (s *Store) AssociateQoSSpecs(ctx context.Context, id, typeID string) error {
	_, err := s.writeQoS(ctx, id, func(tx *sqlstore.Tx, q *QoSSpecs) error {
		t, err := qosType(ctx, tx, typeID)
		if err != nil {
			return err
		}
		switch t.QoSSpecsID {
		case id:
			return errUnchanged
		case "":
			if err := s.setTypeQoS(ctx, tx, *t, id); err != nil {
				return err
			}
			return errQoSKept
		}
		return cinderError(fault.BadRequest, "InvalidVolumeType",
			"Invalid volume type: Type %s is already associated with another qos specs: %s", typeID, t.QoSSpecsID)
	})
	return err
}

// qosType is the type an association names (VolumeTypeNotFound).
func qosType(ctx context.Context, tx *sqlstore.Tx, typeID string) (*VolumeType, error) {
	if err := checkText("vol_type_id", typeID, len(typeID)); err != nil {
		return nil, err
	}
	t, err := typeByID(ctx, tx, adminViewer, typeID, false)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, typeNotFound(typeID)
	}
	return t, nil
}

// DisassociateQoSSpecs is Cinder's disassociate_qos_specs: the QoS specs
// and the type must exist; a type associated with other QoS specs, or
// none, is left as it is.
func (s *Store) DisassociateQoSSpecs(ctx context.Context, id, typeID string) error {
	_, err := s.writeQoS(ctx, id, func(tx *sqlstore.Tx, q *QoSSpecs) error {
		t, err := qosType(ctx, tx, typeID)
		if err != nil {
			return err
		}
		if t.QoSSpecsID != id {
			return errUnchanged
		}
		if err := s.setTypeQoS(ctx, tx, *t, ""); err != nil {
			return err
		}
		return errQoSKept
	})
	return err
}

// DisassociateAllQoSSpecs is Cinder's disassociate_all: no type names
// QoS specs id after.
func (s *Store) DisassociateAllQoSSpecs(ctx context.Context, id string) error {
	_, err := s.writeQoS(ctx, id, func(tx *sqlstore.Tx, q *QoSSpecs) error {
		return s.disassociateAll(ctx, tx, id)
	})
	return err
}

// disassociateAll disassociates every type of QoS specs id:
// errUnchanged when there is none, else errQoSKept.
func (s *Store) disassociateAll(ctx context.Context, tx *sqlstore.Tx, id string) error {
	ts, err := typesOfQoS(ctx, tx, id)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return errUnchanged
	}
	for _, t := range ts {
		if err := s.setTypeQoS(ctx, tx, t, ""); err != nil {
			return err
		}
	}
	return errQoSKept
}

// DeleteQoSSpecs is Cinder's qos_specs.delete: QoS specs still
// associated with a type are refused (QoSSpecsInUse, 400) unless force,
// which disassociates them first.
func (s *Store) DeleteQoSSpecs(ctx context.Context, id string, force bool) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		q, err := qosByID(ctx, tx, id)
		if err != nil {
			return err
		}
		ts, err := typesOfQoS(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(ts) > 0 && !force {
			return cinderError(fault.BadRequest, "QoSSpecsInUse", "QoS Specs %s is still associated with entities.", id)
		}
		if err := s.disassociateAll(ctx, tx, id); err != errUnchanged && err != errQoSKept {
			return err
		}
		for _, stmt := range []string{"DELETE FROM storage_qos_spec_items WHERE specs_id = ?", "DELETE FROM storage_qos_specs WHERE id = ?"} {
			if _, err := tx.Exec(ctx, stmt, id); err != nil {
				return fmt.Errorf("storage: delete qos specs %s: %w", id, err)
			}
		}
		return s.record(ctx, tx, "qos_specs", id, "", watch.Delete, q)
	})
}

// typeQoS is the QoS specs type t names (nil for none).
func typeQoS(ctx context.Context, tx querier, t *VolumeType) (*QoSSpecs, error) {
	if t == nil || t.QoSSpecsID == "" {
		return nil, nil
	}
	q, err := qosByID(ctx, tx, t.QoSSpecsID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil
	}
	return q, err
}
