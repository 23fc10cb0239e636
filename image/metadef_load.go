package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"

	"github.com/gostack/gostack/kit/sqlstore"
)

// MetadefDirs are where Glance's default metadata definitions are
// installed: Glance's metadata_source_path, then Debian's glance-common
// package, which ships them under /usr/share.
var MetadefDirs = []string{"/etc/glance/metadefs", "/usr/share/glance-common/metadefs"}

// FindMetadefs returns the first of dirs holding a *.json file, "" when
// none does.
func FindMetadefs(dirs []string) string {
	for _, d := range dirs {
		if m, _ := fs.Glob(os.DirFS(d), "*.json"); len(m) > 0 {
			return d
		}
	}
	return ""
}

// metadefFile is one of Glance's etc/metadefs/*.json files.
type metadefFile struct {
	Namespace    string  `json:"namespace"`
	DisplayName  string  `json:"display_name"`
	Description  string  `json:"description"`
	Visibility   string  `json:"visibility"`
	Protected    bool    `json:"protected"`
	Owner        *string `json:"owner"`
	Associations []struct {
		Name             string `json:"name"`
		Prefix           string `json:"prefix"`
		PropertiesTarget string `json:"properties_target"`
	} `json:"resource_type_associations"`
	Properties map[string]json.RawMessage `json:"properties"`
	Objects    []struct {
		Name        string                     `json:"name"`
		Description string                     `json:"description"`
		Required    []string                   `json:"required"`
		Properties  map[string]json.RawMessage `json:"properties"`
	} `json:"objects"`
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
}

// content is the file as a namespace to create.
func (f metadefFile) content() NamespaceContent {
	c := NamespaceContent{Namespace: Namespace{Namespace: f.Namespace, DisplayName: f.DisplayName, Description: f.Description,
		Visibility: f.Visibility, Protected: f.Protected, Owner: "admin"}}
	if f.Owner != nil {
		c.Owner = *f.Owner
	}
	for _, a := range f.Associations {
		c.Associations = append(c.Associations, Association{Name: a.Name, Prefix: a.Prefix, PropertiesTarget: a.PropertiesTarget})
	}
	for _, name := range sortedKeys(f.Properties) {
		c.Items = append(c.Items, Item{Kind: KindProperty, Name: name, Body: f.Properties[name]})
	}
	for _, o := range f.Objects {
		body, _ := json.Marshal(ObjectBody{Description: o.Description, Required: o.Required, Properties: o.Properties})
		c.Items = append(c.Items, Item{Kind: KindObject, Name: o.Name, Body: body})
	}
	for _, t := range f.Tags {
		c.Items = append(c.Items, Item{Kind: KindTag, Name: t.Name})
	}
	return c
}

// ObjectBody is what an object Item's Body holds.
type ObjectBody struct {
	Description string                     `json:"description,omitempty"`
	Required    []string                   `json:"required,omitempty"`
	Properties  map[string]json.RawMessage `json:"properties,omitempty"`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// LoadMetadefs loads the definitions files (*.json) of fsys as
// glance-manage db_load_metadefs does: each file a namespace with its
// resource type associations (seeded resource types are protected),
// properties, objects and tags; a namespace that already exists is
// skipped. It runs once per database: after a load, later calls load
// nothing (so a default namespace an admin deleted stays deleted), and
// of two controllers starting together one loads. A file that does not
// parse, or whose namespace is refused, is reported in skipped and
// leaves the others to load. It returns how many namespaces it created.
func (s *Store) LoadMetadefs(ctx context.Context, fsys fs.FS) (loaded int, skipped []error, err error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil || len(names) == 0 {
		return 0, nil, err
	}
	var files []metadefFile
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		var f metadefFile
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("%s: %w", path.Base(name), err))
			continue
		}
		files = append(files, f)
	}
	now := s.stamp()
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		loaded = 0
		var done int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM image_md_loaded WHERE source = 'glance'", nil, &done); err != nil || done > 0 {
			return err
		}
		for _, f := range files {
			var exists int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM image_md_namespaces WHERE namespace = ?", []any{f.Namespace}, &exists); err != nil {
				return err
			}
			if exists > 0 {
				continue
			}
			c := f.content()
			if err := checkContent(c); err != nil {
				skipped = append(skipped, fmt.Errorf("namespace %q: %w", f.Namespace, err))
				continue
			}
			if err := s.insertNamespace(ctx, tx, &c, now, true); err != nil {
				return err
			}
			loaded++
		}
		_, err := tx.Exec(ctx, "INSERT INTO image_md_loaded (source, loaded_at) VALUES ('glance', ?)", now.UnixMicro())
		return err
	})
	if errors.Is(err, sqlstore.ErrConflict) {
		return 0, skipped, nil // another controller loaded them first: content conflicts were checked before
	}
	return loaded, skipped, err
}
