package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Project tags one by one, as Keystone's resource manager edits them
// (create_project_tag, update_project_tags, delete_project_tag): each
// call reads the project's tags, changes them and writes them back, in
// one transaction that holds the project's row, so two concurrent
// calls do not lose each other's tag. The tags are the project's own
// (Project.Tags): the same list project create and update set.

// projectTagNotFound is Keystone's ProjectTagNotFound (404): the project
// lacks the tag.
func projectTagNotFound(tag string) error {
	return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Could not find project tag: %s.", tag)}
}

// HasProjectTag returns nil when the project has tag, Keystone's
// ProjectTagNotFound when it has not, and a not-found error when there
// is no such project.
func (s *Store) HasProjectTag(ctx context.Context, projectID, tag string) error {
	p, err := s.GetProject(ctx, projectID)
	if err != nil {
		return err
	}
	if !slices.Contains(p.Tags, tag) {
		return projectTagNotFound(tag)
	}
	return nil
}

// AddProjectTag adds one tag to a project and returns it as stored:
// stripped of white space, as Keystone strips it. The tag must be a valid
// tag before it is stripped, and the project's tags with it (unstripped)
// a valid list: at most 80, no two alike. The stripped tag must be
// a valid tag too (Keystone would store an empty one).
func (s *Store) AddProjectTag(ctx context.Context, projectID, tag string) (string, error) {
	if err := tags("project.tags", []string{tag}); err != nil {
		return "", err
	}
	stripped := strip(tag)
	_, err := s.editTags(ctx, projectID, func(old []string) ([]string, error) {
		if err := tags("project.tags", append(slices.Clone(old), tag)); err != nil {
			return nil, err
		}
		return append(old, stripped), nil
	})
	return stripped, err
}

// SetProjectTags replaces a project's tags with ts, each stripped of white
// space (Keystone's update_project_tags), and returns them. ts must be a
// valid list before and after the stripping.
func (s *Store) SetProjectTags(ctx context.Context, projectID string, ts []string) ([]string, error) {
	if err := tags("project.tags", ts); err != nil {
		return nil, err
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strip(t)
	}
	return s.editTags(ctx, projectID, func([]string) ([]string, error) { return out, nil })
}

// RemoveProjectTag removes one tag, matched exactly, from a project:
// Keystone's ProjectTagNotFound when the project does not have it.
func (s *Store) RemoveProjectTag(ctx context.Context, projectID, tag string) error {
	_, err := s.editTags(ctx, projectID, func(old []string) ([]string, error) {
		i := slices.Index(old, tag)
		if i < 0 {
			return nil, projectTagNotFound(tag)
		}
		return slices.Delete(old, i, i+1), nil
	})
	return err
}

// editTags replaces a project's tags with what edit makes of them, in one
// transaction: the first statement takes the row's write lock (on
// PostgreSQL, a concurrent edit waits for it and then reads the tags
// this one wrote; on SQLite the transaction holds the database's), the
// change is checked as a project's tags are and goes to the feed as a
// project update.
func (s *Store) editTags(ctx context.Context, projectID string, edit func(old []string) ([]string, error)) ([]string, error) {
	var out []string
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_projects SET tags = tags WHERE id = ?", projectID)
		if err != nil {
			return err
		}
		if err := affected(res, "project", projectID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+projectCols+" FROM identity_projects WHERE id = ?", projectID)
		if err != nil {
			return err
		}
		ps, err := collect(rows, scanProject)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return notFound("project", projectID)
		}
		p := ps[0]
		if out, err = edit(slices.Clone(p.Tags)); err != nil {
			return err
		}
		if out == nil {
			out = []string{}
		}
		if err := tags("project.tags", out); err != nil {
			return err
		}
		p.Tags = out
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE identity_projects SET tags = ? WHERE id = ?", string(b), projectID); err != nil {
			return err
		}
		return s.record(ctx, tx, "project", projectID, watch.Update, p)
	})
	return out, err
}
