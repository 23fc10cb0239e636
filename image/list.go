package image

import (
	"context"
	"errors"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Viewer is who is looking: a project, or an admin who sees everything.
type Viewer struct {
	Project string
	Admin   bool
}

// CanSee is Glance's visibility rule for one image: the owner, anyone for
// public and community images, members (in any member status) for shared
// ones, and admins. Deleted images are seen by no one.
func (s *Store) CanSee(ctx context.Context, img Image, v Viewer) (bool, error) {
	switch {
	case img.Status == Deleted:
		return false, nil
	case v.Admin, img.Owner == v.Project, img.Visibility == Public, img.Visibility == Community:
		return true, nil
	case img.Visibility == Shared:
		var n int
		err := s.db.Get(ctx, "SELECT COUNT(*) FROM image_members WHERE image_id = ? AND member = ?", []any{img.ID, v.Project}, &n)
		return n > 0, err
	}
	return false, nil
}

// Filter selects images for List, as Glance's list filters do; zero
// fields do not filter. Lists ("any of") match an image whose attribute
// is one of the values.
type Filter struct {
	Visibility      string // "" lists own, public and accepted shared; "community" must be asked for; "all" is every kind
	MemberStatus    string // for shared images; default accepted
	Owner           string
	ID              []string // any of
	Name            []string // any of
	Status          []Status // any of
	DiskFormat      []string // any of
	ContainerFormat []string // any of
	Tags            []string // every one of
	Protected       *bool
	Hidden          bool   // include os_hidden images
	OSHidden        *bool  // only the images whose os_hidden is this (Hidden then does not matter)
	Size            *int64 // exactly this size (Glance's size column filter)
	SizeMin         *int64 // at least; images without a size match none of the three
	SizeMax         *int64 // at most
	CreatedAt       *TimeFilter
	UpdatedAt       *TimeFilter
	Properties      map[string]string // extra properties that must have these values
}

// TimeFilter compares a time of the image, cut to the second, with At,
// as Glance's created_at and updated_at filters: Op is one of gt, gte,
// lt, lte, eq and neq.
type TimeFilter struct {
	Op string
	At time.Time
}

// SortKey is one key of a list's order: an attribute of SortKeys and its
// direction.
type SortKey struct {
	Key  string
	Desc bool
}

// Page is the part of a list List returns, as Glance's sort_key,
// sort_dir, marker and limit choose it.
type Page struct {
	// Sort is the order; empty is created_at descending. Images equal on
	// every key come by id, ascending.
	Sort []SortKey
	// Marker is the id of the last image of the previous page: the page
	// starts after it. It must be an image the viewer may see (not
	// necessarily one the filter selects), else List fails with a
	// BadRequest "marker [id] not found".
	Marker string
	// Limit is the most images to return; 0 is no limit.
	Limit int
}

// List returns one page of the images v may list that match f, and
// whether more follow. Filtering, ordering and paging all happen in the
// query, which reads at most p.Limit+1 rows (and the marker's).
func (s *Store) List(ctx context.Context, v Viewer, f Filter, p Page) ([]Image, bool, error) {
	keys, err := keyset(p.Sort)
	if err != nil {
		return nil, false, err
	}
	if p.Limit < 0 {
		return nil, false, fault.Invalid("limit", "limit must be a non-negative integer")
	}
	w, err := listWhere(s.db.Dialect(), v, f)
	if err != nil {
		return nil, false, err
	}
	out := []Image{}
	err = s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		out = out[:0]
		w := w.clone()
		if p.Marker != "" {
			vis, args := canSee(v)
			values, err := keys.Marker(ctx, tx, "FROM image_images i WHERE i.id = ? AND "+vis, append([]any{p.Marker}, args...)...)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return fault.New(fault.BadRequest, "marker [%s] not found", p.Marker)
			} else if err != nil {
				return err
			}
			cond, args := keys.After(values)
			w.add(cond, args...)
		}
		q := "SELECT " + cols + " FROM image_images i" + w.sql() + keys.OrderBy()
		if p.Limit > 0 {
			q, w.args = q+" LIMIT ?", append(w.args, p.Limit+1)
		}
		rows, err := tx.Query(ctx, q, w.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			img, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, img)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, false, err
	}
	if p.Limit > 0 && len(out) > p.Limit {
		return out[:p.Limit], true, nil
	}
	return out, false, nil
}

// AddMember shares a shared image with a project (status pending),
// unless the image has s.Caps.Members members already (*CapError, 413).
func (s *Store) AddMember(ctx context.Context, img Image, project string) (Member, error) {
	if img.Visibility != Shared {
		return Member{}, &fault.Error{Kind: fault.Forbidden, Message: "Only shared images have members."}
	}
	if err := checkMember(project); err != nil {
		return Member{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	m := Member{ImageID: img.ID, Member: project, Status: MemberPending, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := s.checkMembers(ctx, tx, img.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			m.ImageID, m.Member, m.Status, now.UnixMicro(), now.UnixMicro())
		if fault.KindOf(err) == fault.Conflict {
			return &fault.Error{Kind: fault.Conflict, Message: "Member " + project + " already exists for image " + img.ID + "."}
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "image_member", img.ID+":"+project, project, watch.Create, m)
	})
	return m, err
}

// checkMembers refuses one more member of image id when it has
// s.Caps.Members already. On PostgreSQL the image's row is locked first,
// so concurrent adds count one after the other; SQLite writers hold the
// database from BEGIN.
func (s *Store) checkMembers(ctx context.Context, tx *sqlstore.Tx, id string) error {
	max := s.Caps.Members
	if max < 0 {
		return nil
	}
	if tx.Dialect() == sqlstore.Postgres {
		var locked string
		if err := tx.Get(ctx, "SELECT id FROM image_images WHERE id = ? FOR UPDATE", []any{id}, &locked); err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return notFound(id)
			}
			return err
		}
	}
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM image_members WHERE image_id = ?", []any{id}, &n); err != nil {
		return err
	}
	if n >= max {
		return &CapError{What: "members", Attempted: n + 1, Maximum: max}
	}
	return nil
}

// SetMemberStatus is the member accepting or rejecting the image.
func (s *Store) SetMemberStatus(ctx context.Context, imageID, project, status string) (Member, error) {
	if status != MemberPending && status != MemberAccepted && status != MemberRejected {
		return Member{}, fault.Invalid("status", "status must be pending, accepted or rejected")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	m := Member{ImageID: imageID, Member: project, Status: status, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?", status, now.UnixMicro(), imageID, project)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &fault.Error{Kind: fault.NotFound, Message: "Member " + project + " not found for image " + imageID + "."}
		}
		return s.record(ctx, tx, "image_member", imageID+":"+project, project, watch.Update, m)
	})
	return m, err
}

// Members lists an image's members.
func (s *Store) Members(ctx context.Context, imageID string) ([]Member, error) {
	rows, err := s.db.Query(ctx, "SELECT image_id, member, status, created_at, updated_at FROM image_members WHERE image_id = ? ORDER BY member", imageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var c, u int64
		if err := rows.Scan(&m.ImageID, &m.Member, &m.Status, &c, &u); err != nil {
			return nil, err
		}
		m.CreatedAt, m.UpdatedAt = time.UnixMicro(c).UTC(), time.UnixMicro(u).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// RemoveMember unshares an image.
func (s *Store) RemoveMember(ctx context.Context, imageID, project string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM image_members WHERE image_id = ? AND member = ?", imageID, project)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &fault.Error{Kind: fault.NotFound, Message: "Member " + project + " not found for image " + imageID + "."}
		}
		return s.record(ctx, tx, "image_member", imageID+":"+project, project, watch.Delete, nil)
	})
}

// Usage is what a project's images take: how many (not deleted) and how
// many bytes of data (stored and staged sizes).
func (s *Store) Usage(ctx context.Context, project string) (count int, bytes int64, err error) {
	err = s.db.Get(ctx, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM image_images WHERE owner = ? AND status <> 'deleted'",
		[]any{project}, &count, &bytes)
	return count, bytes, err
}

// InStatus lists every image (all projects) in one of the statuses, for
// recovery at start.
func (s *Store) InStatus(ctx context.Context, statuses ...Status) ([]Image, error) {
	var out []Image
	for _, st := range statuses {
		imgs, _, err := s.List(ctx, Viewer{Admin: true}, Filter{Visibility: "all", Status: []Status{st}, Hidden: true}, Page{})
		if err != nil {
			return nil, err
		}
		out = append(out, imgs...)
	}
	return out, nil
}
