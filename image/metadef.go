package image

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Namespace is a metadata definitions namespace (Glance's metadefs): a
// named group of objects, properties and tags that describe what
// resources (images, volumes, flavors...) may carry.
type Namespace struct {
	Namespace   string `json:"namespace"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	// Visibility is public or private; "" (a Glance file without one)
	// is seen by admins and the owner only, as in Glance.
	Visibility string    `json:"visibility"`
	Protected  bool      `json:"protected"` // its content cannot be deleted
	Owner      string    `json:"owner"`     // "" is every project's, as Glance's None
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// VisibleTo is Glance's _is_namespace_visible: admins, ownerless and
// public namespaces, and the owner's.
func (ns Namespace) VisibleTo(v Viewer) bool {
	return v.Admin || ns.Owner == "" || ns.Visibility == Public || (v.Project != "" && ns.Owner == v.Project)
}

// Item kinds: what a namespace holds besides resource type associations.
const (
	KindObject   = "object"
	KindProperty = "property"
	KindTag      = "tag"
)

// Item is an object, a property or a tag of a namespace. Body is the
// object's {"description","required","properties"} or the property's
// JSON schema (Glance's json_schema column), {} for a tag; Store keeps
// it as given.
type Item struct {
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Body      json.RawMessage `json:"body"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Association ties a namespace to a resource type, with the prefix its
// properties take on that type and the part of the resource they go in.
type Association struct {
	Name             string    `json:"name"`
	Prefix           string    `json:"prefix"`
	PropertiesTarget string    `json:"properties_target"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ResourceType is a kind of resource namespaces apply to. Protected ones
// are the seeded system types.
type ResourceType struct {
	Name      string    `json:"name"`
	Protected bool      `json:"protected"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NamespaceContent is a namespace with what it holds, as a create with
// content or a definitions file gives it.
type NamespaceContent struct {
	Namespace
	Items        []Item
	Associations []Association
}

// MaxMetadefName is the length of namespace, object, property, tag and
// display names (Glance's String(80) columns).
const MaxMetadefName = 80

func nsNotFound(name string) error {
	return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Metadata definition namespace=%s was not found.", name)}
}

func itemNotFound(kind, name, ns string) error {
	if kind == KindTag {
		return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("The metadata definition tag with name=%s was not found in namespace=%s.", name, ns)}
	}
	return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("The metadata definition %s with name=%s was not found in namespace=%s.", kind, name, ns)}
}

func itemDuplicate(kind, name, ns string) error {
	if kind == KindTag {
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("A metadata tag with name=%s already exists in namespace=%s. (Please note that metadata tag names are case insensitive).", name, ns)}
	}
	return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("A metadata definition %s with name=%s already exists in namespace=%s.", kind, name, ns)}
}

func protectedDelete(what, name string) error {
	return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Metadata definition %s %s is protected and cannot be deleted.", what, name)}
}

func checkMetadefName(field, name string) error {
	if name == "" {
		return fault.Invalid(field, "%s must not be empty", field)
	}
	if len([]rune(name)) > MaxMetadefName {
		return fault.Invalid(field, "%s is longer than %d characters", field, MaxMetadefName)
	}
	return nil
}

func checkNamespace(ns Namespace) error {
	if err := checkMetadefName("namespace", ns.Namespace); err != nil {
		return err
	}
	switch {
	case len([]rune(ns.DisplayName)) > MaxMetadefName:
		return fault.Invalid("display_name", "display_name is longer than %d characters", MaxMetadefName)
	case len([]rune(ns.Description)) > 500:
		return fault.Invalid("description", "description is longer than 500 characters")
	case len(ns.Owner) > MaxNameLength:
		return fault.Invalid("owner", "owner is longer than %d bytes", MaxNameLength)
	case ns.Visibility != Public && ns.Visibility != Private && ns.Visibility != "":
		return fault.Invalid("visibility", "Invalid visibility value: %s", ns.Visibility)
	}
	return nil
}

const nsCols = "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at"

// nsRow is a namespace with its row id.
type nsRow struct {
	id string
	Namespace
}

func scanNamespace(r interface{ Scan(...any) error }) (nsRow, error) {
	var n nsRow
	var created, updated int64
	err := r.Scan(&n.id, &n.Namespace.Namespace, &n.DisplayName, &n.Description, &n.Visibility, &n.Protected, &n.Owner, &created, &updated)
	n.CreatedAt, n.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return n, err
}

// namespaceRow reads the namespace name names if v may see it.
func namespaceRow(ctx context.Context, db querier, v Viewer, name string) (nsRow, error) {
	rows, err := db.Query(ctx, "SELECT "+nsCols+" FROM image_md_namespaces WHERE namespace = ?", name)
	if err != nil {
		return nsRow{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nsRow{}, err
		}
		return nsRow{}, nsNotFound(name)
	}
	n, err := scanNamespace(rows)
	if err != nil {
		return nsRow{}, err
	}
	if !n.VisibleTo(v) {
		return nsRow{}, nsNotFound(name)
	}
	return n, nil
}

func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Store) recordNS(ctx context.Context, tx *sqlstore.Tx, op watch.Op, n nsRow) error {
	return s.record(ctx, tx, "metadef_namespace", n.id, n.Owner, op, n.Namespace)
}

// Namespace returns the namespace name if v may see it (a 404 otherwise,
// as Glance hides what a project may not see).
func (s *Store) Namespace(ctx context.Context, v Viewer, name string) (Namespace, error) {
	n, err := namespaceRow(ctx, s.db, v, name)
	return n.Namespace, err
}

// NamespaceFilter selects namespaces for Namespaces: by visibility
// (public or private), and to those associated with any of
// ResourceTypes.
type NamespaceFilter struct {
	Visibility    string
	ResourceTypes []string
}

// Namespaces returns every namespace v may see that matches f, oldest
// first.
func (s *Store) Namespaces(ctx context.Context, v Viewer, f NamespaceFilter) ([]Namespace, error) {
	var w where
	w.add("1 = 1")
	if !v.Admin {
		w.add("(n.owner = '' OR n.visibility = 'public' OR n.owner = ?)", v.Project)
	}
	if f.Visibility != "" {
		w.add("n.visibility = ?", f.Visibility)
	}
	if len(f.ResourceTypes) > 0 {
		w.add("EXISTS (SELECT 1 FROM image_md_associations a WHERE a.namespace_id = n.id AND a.resource_type IN (?"+
			strings.Repeat(", ?", len(f.ResourceTypes)-1)+"))", anys(f.ResourceTypes)...)
	}
	rows, err := s.db.Query(ctx, "SELECT "+strings.ReplaceAll("n."+nsCols, ", ", ", n.")+" FROM image_md_namespaces n"+w.sql()+
		" ORDER BY n.created_at, n.namespace", w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Namespace{}
	for rows.Next() {
		n, err := scanNamespace(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n.Namespace)
	}
	return out, rows.Err()
}

// checkContent checks a namespace and what it holds: names, and no two
// items of a kind or associations with one name (tags whatever their
// case).
func checkContent(c NamespaceContent) error {
	if err := checkNamespace(c.Namespace); err != nil {
		return err
	}
	seen := map[[2]string]bool{}
	for _, it := range c.Items {
		if err := checkMetadefName("name", it.Name); err != nil {
			return err
		}
		key := [2]string{it.Kind, it.Name}
		if it.Kind == KindTag {
			key[1] = strings.ToLower(it.Name)
		}
		if seen[key] {
			return itemDuplicate(it.Kind, it.Name, c.Namespace.Namespace)
		}
		seen[key] = true
	}
	for _, a := range c.Associations {
		key := [2]string{"resource_type", a.Name}
		if seen[key] {
			return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("The metadata definition resource-type association of resource-type=%s to namespace=%s already exists.", a.Name, c.Namespace.Namespace)}
		}
		seen[key] = true
	}
	return nil
}

// CreateNamespace stores a namespace with its content in one
// transaction: a duplicate name (409) or a bad item leaves nothing.
// Resource types an association names that do not exist are created,
// unprotected, as Glance does.
func (s *Store) CreateNamespace(ctx context.Context, c NamespaceContent) (NamespaceContent, error) {
	if err := checkContent(c); err != nil {
		return c, err
	}
	now := s.stamp()
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		return s.insertNamespace(ctx, tx, &c, now, false)
	})
	return c, err
}

func (s *Store) insertNamespace(ctx context.Context, tx *sqlstore.Tx, c *NamespaceContent, now time.Time, seeded bool) error {
	n := nsRow{id: uuid.NewString(), Namespace: c.Namespace}
	_, err := tx.Exec(ctx, "INSERT INTO image_md_namespaces ("+nsCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", n.id, n.Namespace.Namespace,
		n.DisplayName, n.Description, n.Visibility, n.Protected, n.Owner, now.UnixMicro(), now.UnixMicro())
	if errors.Is(err, sqlstore.ErrConflict) {
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("The metadata definition namespace=%s already exists.", n.Namespace.Namespace)}
	} else if err != nil {
		return err
	}
	for i := range c.Items {
		c.Items[i].CreatedAt, c.Items[i].UpdatedAt = now, now
		if err := insertItem(ctx, tx, n, c.Items[i]); err != nil {
			return err
		}
	}
	for i := range c.Associations {
		c.Associations[i].CreatedAt, c.Associations[i].UpdatedAt = now, now
		if err := insertAssociation(ctx, tx, n, c.Associations[i], now, seeded); err != nil {
			return err
		}
	}
	return s.recordNS(ctx, tx, watch.Create, n)
}

// UpdateNamespace replaces the namespace name's attributes (a rename
// included) if v may see it; a new name taken is a 409.
func (s *Store) UpdateNamespace(ctx context.Context, v Viewer, name string, ns Namespace) (Namespace, error) {
	if err := checkNamespace(ns); err != nil {
		return ns, err
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		ns.CreatedAt, ns.UpdatedAt = n.CreatedAt, s.stamp()
		_, err = tx.Exec(ctx, `UPDATE image_md_namespaces SET namespace = ?, display_name = ?, description = ?, visibility = ?,
			protected = ?, owner = ?, updated_at = ? WHERE id = ?`, ns.Namespace, ns.DisplayName, ns.Description, ns.Visibility,
			ns.Protected, ns.Owner, ns.UpdatedAt.UnixMicro(), n.id)
		if errors.Is(err, sqlstore.ErrConflict) {
			return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Invalid update. It would result in a duplicate metadata definition namespace with the same name of %s", ns.Namespace)}
		} else if err != nil {
			return err
		}
		n.Namespace = ns
		return s.recordNS(ctx, tx, watch.Update, n)
	})
	return ns, err
}

// DeleteNamespace deletes the namespace name and all it holds, unless it
// is protected (403).
func (s *Store) DeleteNamespace(ctx context.Context, v Viewer, name string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if n.Protected {
			return protectedDelete("namespace", name)
		}
		for _, q := range []string{"DELETE FROM image_md_items WHERE namespace_id = ?", "DELETE FROM image_md_associations WHERE namespace_id = ?",
			"DELETE FROM image_md_namespaces WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, n.id); err != nil {
				return err
			}
		}
		return s.recordNS(ctx, tx, watch.Delete, n)
	})
}

// DeleteItems deletes every item of kind in the namespace name (Glance's
// DELETE .../objects, .../properties, .../tags), unless the namespace is
// protected (403).
func (s *Store) DeleteItems(ctx context.Context, v Viewer, name, kind string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if n.Protected {
			return protectedDelete("namespace", name)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM image_md_items WHERE namespace_id = ? AND kind = ?", n.id, kind); err != nil {
			return err
		}
		return s.recordNS(ctx, tx, watch.Update, n)
	})
}

// ---- items ----

func insertItem(ctx context.Context, tx *sqlstore.Tx, n nsRow, it Item) error {
	if err := checkMetadefName("name", it.Name); err != nil {
		return err
	}
	if len(it.Body) == 0 {
		it.Body = json.RawMessage("{}")
	}
	_, err := tx.Exec(ctx, "INSERT INTO image_md_items (namespace_id, kind, name, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		n.id, it.Kind, it.Name, string(it.Body), it.CreatedAt.UnixMicro(), it.UpdatedAt.UnixMicro())
	if errors.Is(err, sqlstore.ErrConflict) {
		return itemDuplicate(it.Kind, it.Name, n.Namespace.Namespace)
	}
	return err
}

func scanItems(rows *sql.Rows) ([]Item, error) {
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		var it Item
		var body string
		var created, updated int64
		if err := rows.Scan(&it.Kind, &it.Name, &body, &created, &updated); err != nil {
			return nil, err
		}
		it.Body = json.RawMessage(body)
		it.CreatedAt, it.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, it)
	}
	return out, rows.Err()
}

// Items returns the items of kind ("" for all) in the namespace name,
// oldest first.
func (s *Store) Items(ctx context.Context, v Viewer, name, kind string) ([]Item, error) {
	n, err := namespaceRow(ctx, s.db, v, name)
	if err != nil {
		return nil, err
	}
	q, args := "SELECT kind, name, body, created_at, updated_at FROM image_md_items WHERE namespace_id = ?", []any{n.id}
	if kind != "" {
		q, args = q+" AND kind = ?", append(args, kind)
	}
	rows, err := s.db.Query(ctx, q+" ORDER BY created_at, name", args...)
	if err != nil {
		return nil, err
	}
	return scanItems(rows)
}

// Item returns one item of the namespace name.
func (s *Store) Item(ctx context.Context, v Viewer, name, kind, item string) (Item, error) {
	n, err := namespaceRow(ctx, s.db, v, name)
	if err != nil {
		return Item{}, err
	}
	return getItem(ctx, s.db, n, kind, item)
}

func getItem(ctx context.Context, db querier, n nsRow, kind, item string) (Item, error) {
	rows, err := db.Query(ctx, "SELECT kind, name, body, created_at, updated_at FROM image_md_items WHERE namespace_id = ? AND kind = ? AND name = ?",
		n.id, kind, item)
	if err != nil {
		return Item{}, err
	}
	items, err := scanItems(rows)
	if err != nil {
		return Item{}, err
	}
	if len(items) == 0 {
		return Item{}, itemNotFound(kind, item, n.Namespace.Namespace)
	}
	return items[0], nil
}

// CreateItems adds items to the namespace name in one transaction; with
// replace, the namespace's items of their kind go first (Glance's bulk
// tag create without X-Openstack-Append). A duplicate is a 409 and
// leaves nothing changed.
func (s *Store) CreateItems(ctx context.Context, v Viewer, name string, items []Item, replace bool) ([]Item, error) {
	now := s.stamp()
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if replace && len(items) > 0 {
			if _, err := tx.Exec(ctx, "DELETE FROM image_md_items WHERE namespace_id = ? AND kind = ?", n.id, items[0].Kind); err != nil {
				return err
			}
		}
		for i := range items {
			items[i].CreatedAt, items[i].UpdatedAt = now, now
			if err := insertItem(ctx, tx, n, items[i]); err != nil {
				return err
			}
		}
		return s.recordNS(ctx, tx, watch.Update, n)
	})
	return items, err
}

// UpdateItem replaces the item old of the namespace name with it (a
// rename included; a name taken is a 409).
func (s *Store) UpdateItem(ctx context.Context, v Viewer, name, old string, it Item) (Item, error) {
	if err := checkMetadefName("name", it.Name); err != nil {
		return it, err
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		cur, err := getItem(ctx, tx, n, it.Kind, old)
		if err != nil {
			return err
		}
		if len(it.Body) == 0 {
			it.Body = json.RawMessage("{}")
		}
		it.CreatedAt, it.UpdatedAt = cur.CreatedAt, s.stamp()
		_, err = tx.Exec(ctx, "UPDATE image_md_items SET name = ?, body = ?, updated_at = ? WHERE namespace_id = ? AND kind = ? AND name = ?",
			it.Name, string(it.Body), it.UpdatedAt.UnixMicro(), n.id, it.Kind, old)
		if errors.Is(err, sqlstore.ErrConflict) {
			return itemDuplicate(it.Kind, it.Name, n.Namespace.Namespace)
		} else if err != nil {
			return err
		}
		return s.recordNS(ctx, tx, watch.Update, n)
	})
	return it, err
}

// DeleteItem deletes one item, unless its namespace is protected (403).
func (s *Store) DeleteItem(ctx context.Context, v Viewer, name, kind, item string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if _, err := getItem(ctx, tx, n, kind, item); err != nil {
			return err
		}
		if n.Protected {
			return protectedDelete(kind, item)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM image_md_items WHERE namespace_id = ? AND kind = ? AND name = ?", n.id, kind, item); err != nil {
			return err
		}
		return s.recordNS(ctx, tx, watch.Update, n)
	})
}
