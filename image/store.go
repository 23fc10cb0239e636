package image

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the image schema, to apply with watch.Migrations().
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "image", FS: migrationFS, Dir: "migrations"}
}

// Store keeps image records (not their data: see image/store) in a
// sqlstore database; every change goes into the watch feed (area "image").
type Store struct {
	db   *sqlstore.DB
	feed *watch.Log
	Now  func() time.Time
	// Caps bound each image's extra properties, tags and members
	// (DefaultCaps unless changed before use).
	Caps Caps
}

// NewStore returns a store over db, whose schema includes Migrations()
// and watch.Migrations(), with Glance's default caps.
func NewStore(db *sqlstore.DB, feed *watch.Log) *Store {
	return &Store{db: db, feed: feed, Caps: DefaultCaps()}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func notFound(id string) error {
	return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("No image found with ID %s", id)}
}

const cols = `id, name, status, visibility, protected, os_hidden, owner, checksum, os_hash_algo, os_hash_value,
	size, virtual_size, container_format, disk_format, min_ram, min_disk, tags, properties, created_at, updated_at, locations`

func scan(r interface{ Scan(...any) error }) (Image, error) {
	var img Image
	var size, vsize sql.NullInt64
	var tags, props, locs string
	var created, updated int64
	err := r.Scan(&img.ID, &img.Name, &img.Status, &img.Visibility, &img.Protected, &img.Hidden, &img.Owner,
		&img.Checksum, &img.HashAlgo, &img.HashValue, &size, &vsize, &img.ContainerFormat, &img.DiskFormat,
		&img.MinRAM, &img.MinDisk, &tags, &props, &created, &updated, &locs)
	if err != nil {
		return img, err
	}
	if size.Valid {
		img.Size = &size.Int64
	}
	if vsize.Valid {
		img.VirtualSize = &vsize.Int64
	}
	json.Unmarshal([]byte(tags), &img.Tags)
	json.Unmarshal([]byte(props), &img.Properties)
	if json.Unmarshal([]byte(locs), &img.Locations) != nil || len(img.Locations) == 0 {
		img.Locations = nil // queued images have none
	}
	if img.Tags == nil {
		img.Tags = []string{}
	}
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	img.CreatedAt, img.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return img, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func locationsText(locs []Location) string {
	if locs == nil {
		return "[]"
	}
	return jsonText(locs)
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func (s *Store) record(ctx context.Context, tx *sqlstore.Tx, kind, id, project string, op watch.Op, v any) error {
	_, err := s.feed.AppendValue(ctx, tx, watch.Change{Area: "image", Kind: kind, ID: id, Project: project, Op: op}, v)
	return err
}

// Create stores a new image in status queued. It refuses an image over
// Glance's column sizes (400) or over s.Caps (*CapError, 413).
func (s *Store) Create(ctx context.Context, img Image) (Image, error) {
	if err := checkLengths(img); err != nil {
		return Image{}, err
	}
	if err := s.Caps.check(img, nil); err != nil {
		return Image{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	img.Status, img.CreatedAt, img.UpdatedAt = Queued, now, now
	if img.Visibility == "" {
		img.Visibility = Shared // Glance's default since Ocata
	}
	if img.Tags == nil {
		img.Tags = []string{}
	}
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO image_images ("+cols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			img.ID, img.Name, img.Status, img.Visibility, img.Protected, img.Hidden, img.Owner, img.Checksum, img.HashAlgo,
			img.HashValue, nullInt(img.Size), nullInt(img.VirtualSize), img.ContainerFormat, img.DiskFormat, img.MinRAM,
			img.MinDisk, jsonText(img.Tags), jsonText(img.Properties), now.UnixMicro(), now.UnixMicro(), locationsText(img.Locations))
		if errors.Is(err, sqlstore.ErrConflict) {
			return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Image with identifier %s already exists!", img.ID)}
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "image", img.ID, img.Owner, watch.Create, img)
	})
	return img, err
}

// querier is a database or a transaction.
type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Get returns an image, deleted ones included (callers decide).
func (s *Store) Get(ctx context.Context, id string) (Image, error) { return get(ctx, s.db, id) }

func get(ctx context.Context, db querier, id string) (Image, error) {
	rows, err := db.Query(ctx, "SELECT "+cols+" FROM image_images WHERE id = ?", id)
	if err != nil {
		return Image{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Image{}, err
		}
		return Image{}, notFound(id)
	}
	return scan(rows)
}

// Update stores img's mutable fields, provided its status is still
// expect (compare-and-swap; a lost race is a 409). Like Create, it
// refuses an image over Glance's column sizes, and one over s.Caps that
// gains a property or a tag.
func (s *Store) Update(ctx context.Context, img Image, expect Status) (Image, error) {
	if err := checkLengths(img); err != nil {
		return Image{}, err
	}
	img.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if s.Caps.over(img) {
			old, err := get(ctx, tx, img.ID)
			if err != nil {
				return err
			}
			if err := s.Caps.check(img, &old); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, `UPDATE image_images SET name = ?, owner = ?, status = ?, visibility = ?, protected = ?, os_hidden = ?,
			checksum = ?, os_hash_algo = ?, os_hash_value = ?, size = ?, virtual_size = ?, container_format = ?, disk_format = ?,
			min_ram = ?, min_disk = ?, tags = ?, properties = ?, updated_at = ?, locations = ? WHERE id = ? AND status = ?`,
			img.Name, img.Owner, img.Status, img.Visibility, img.Protected, img.Hidden, img.Checksum, img.HashAlgo, img.HashValue,
			nullInt(img.Size), nullInt(img.VirtualSize), img.ContainerFormat, img.DiskFormat, img.MinRAM, img.MinDisk,
			jsonText(img.Tags), jsonText(img.Properties), img.UpdatedAt.UnixMicro(), locationsText(img.Locations), img.ID, expect)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.Get(ctx, img.ID); err != nil {
				return err
			}
			return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Image %s is no longer %s: someone changed it", img.ID, expect)}
		}
		op := watch.Update
		if img.Status == Deleted {
			op = watch.Delete
		}
		return s.record(ctx, tx, "image", img.ID, img.Owner, op, img)
	})
	return img, err
}

// Transition moves an image from its current status to to, applying
// Glance's state machine and rules, after change mutates the record
// (sizes, hashes); the write is a compare-and-swap on the old status.
func (s *Store) Transition(ctx context.Context, id string, to Status, change func(*Image)) (Image, error) {
	img, err := s.Get(ctx, id)
	if err != nil {
		return Image{}, err
	}
	from := img.Status
	if change != nil {
		change(&img)
	}
	img.Status = from
	if err := checkTransition(&img, to); err != nil {
		return Image{}, err
	}
	img.Status = to
	if to == Queued {
		img.Size, img.VirtualSize = nil, nil // Glance clears them
	}
	return s.Update(ctx, img, from)
}

// Delete marks an image deleted, unless it is protected (403).
func (s *Store) Delete(ctx context.Context, id string) (Image, error) {
	img, err := s.Get(ctx, id)
	if err != nil {
		return Image{}, err
	}
	if img.Status == Deleted {
		return Image{}, notFound(id)
	}
	if img.Protected {
		return Image{}, &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Image %s is protected and cannot be deleted.", id)}
	}
	return s.Transition(ctx, id, Deleted, nil)
}
