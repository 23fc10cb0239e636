package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// qosState is what a refused QoS call must leave as it was: the feed's
// head, every QoS specs row and item, and every type's QoS specs id.
func qosState(t *testing.T, db *sqlstore.DB, feed *watch.Log) string {
	t.Helper()
	ctx := context.Background()
	head, _, err := feed.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintln(&b, "head", head)
	for _, q := range []string{
		"SELECT id || ' ' || name || ' ' || consumer || ' ' || coalesce(updated_at, 0) FROM storage_qos_specs ORDER BY id",
		"SELECT specs_id || ' ' || spec_key || '=' || coalesce(spec_value, '<nil>') FROM storage_qos_spec_items ORDER BY specs_id, spec_key",
		"SELECT id || ' ' || qos_specs_id || ' ' || coalesce(updated_at, 0) FROM storage_volume_types ORDER BY id",
	} {
		rows, err := db.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, line)
		}
		rows.Close()
	}
	return b.String()
}

func sp(s string) *string { return &s }

// QoS specs as Cinder's qos_specs module keeps them: create (consumer
// taken from the specs, back-end by default), set, unset, associate
// with one type at a time, disassociate, delete refused while
// associated unless forced; the feed records each change.
func TestQoSSpecsLife(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		head, _, _ := feed.Head(ctx)
		q, err := s.CreateQoSSpecs(ctx, "q1", map[string]*string{"consumer": sp("front-end"), "total_iops_sec": sp("100")})
		if err != nil {
			t.Fatal(err)
		}
		if q.Name != "q1" || q.Consumer != storage.QoSFrontEnd || len(q.Specs) != 1 || *q.Specs["total_iops_sec"] != "100" {
			t.Fatalf("created %+v", q)
		}
		b, err := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Since: head})
		if err != nil || len(b.Changes) != 1 || b.Changes[0].Kind != "qos_specs" || b.Changes[0].Op != watch.Create || b.Changes[0].ID != q.ID {
			t.Fatalf("feed %+v %v", b.Changes, err)
		}
		back, err := s.CreateQoSSpecs(ctx, "q2", nil)
		if err != nil || back.Consumer != storage.QoSBackEnd || len(back.Specs) != 0 {
			t.Fatalf("default consumer: %+v %v", back, err)
		}

		q, err = s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"consumer": sp("both"), "read_iops_sec": nil, "total_iops_sec": sp("200")})
		if err != nil || q.Consumer != storage.QoSBoth || len(q.Specs) != 2 || q.Specs["read_iops_sec"] != nil ||
			*q.Specs["total_iops_sec"] != "200" || q.UpdatedAt == nil {
			t.Fatalf("updated %+v %v", q, err)
		}
		// A null consumer is Cinder's default.
		if q, err = s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"consumer": nil}); err != nil || q.Consumer != storage.QoSBackEnd {
			t.Fatalf("null consumer: %+v %v", q, err)
		}
		if q, err = s.DeleteQoSSpecsKeys(ctx, q.ID, []string{"read_iops_sec"}); err != nil || len(q.Specs) != 1 {
			t.Fatalf("unset %+v %v", q, err)
		}

		gold, err := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "gold"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AssociateQoSSpecs(ctx, q.ID, gold.ID); err != nil {
			t.Fatal(err)
		}
		if vt, _ := s.VolumeType(ctx, admin, gold.ID); vt.QoSSpecsID != q.ID {
			t.Fatalf("type after associate: %+v", vt)
		}
		// What changes nothing writes nothing (the feed included).
		st := qosState(t, db, feed)
		if err := s.AssociateQoSSpecs(ctx, q.ID, gold.ID); err != nil {
			t.Fatalf("associating again: %v", err)
		}
		if _, err := s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"consumer": sp("back-end"), "total_iops_sec": sp("200")}); err != nil {
			t.Fatal(err)
		}
		if err := s.DisassociateAllQoSSpecs(ctx, back.ID); err != nil {
			t.Fatal(err)
		}
		if now := qosState(t, db, feed); now != st {
			t.Fatalf("a call that changes nothing wrote\n%s\n%s", st, now)
		}
		as, err := s.QoSAssociations(ctx, q.ID)
		if err != nil || len(as) != 1 || as[0] != (storage.QoSAssociation{AssociationType: "volume_type", Name: "gold", ID: gold.ID}) {
			t.Fatalf("associations %+v %v", as, err)
		}
		// Disassociating other specs leaves the type as it is.
		if err := s.DisassociateQoSSpecs(ctx, back.ID, gold.ID); err != nil {
			t.Fatal(err)
		}
		if vt, _ := s.VolumeType(ctx, admin, gold.ID); vt.QoSSpecsID != q.ID {
			t.Fatalf("other specs' disassociate changed the type: %+v", vt)
		}
		st = qosState(t, db, feed)
		refusal{kind: fault.BadRequest, msg: "QoS Specs " + q.ID + " is still associated with entities."}.check(t, s.DeleteQoSSpecs(ctx, q.ID, false))
		if now := qosState(t, db, feed); now != st {
			t.Fatalf("a refused delete changed\n%s\n%s", st, now)
		}
		if err := s.DeleteQoSSpecs(ctx, q.ID, true); err != nil {
			t.Fatal(err)
		}
		if vt, _ := s.VolumeType(ctx, admin, gold.ID); vt.QoSSpecsID != "" {
			t.Fatalf("a forced delete left the association: %+v", vt)
		}
		if _, err := s.QoSSpecs(ctx, q.ID); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("deleted specs: %v", err)
		}

		// disassociate and disassociate_all.
		silver, _ := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "silver"})
		for _, id := range []string{gold.ID, silver.ID} {
			if err := s.AssociateQoSSpecs(ctx, back.ID, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DisassociateQoSSpecs(ctx, back.ID, gold.ID); err != nil {
			t.Fatal(err)
		}
		if as, _ := s.QoSAssociations(ctx, back.ID); len(as) != 1 || as[0].ID != silver.ID {
			t.Fatalf("after disassociate: %+v", as)
		}
		if err := s.DisassociateAllQoSSpecs(ctx, back.ID); err != nil {
			t.Fatal(err)
		}
		if as, _ := s.QoSAssociations(ctx, back.ID); len(as) != 0 {
			t.Fatalf("after disassociate_all: %+v", as)
		}
		if err := s.DeleteQoSSpecs(ctx, back.ID, false); err != nil {
			t.Fatal(err)
		}
	})
}

// Every refusal leaves the specs, their items, the types and the feed
// as they were.
func TestQoSSpecsRefusals(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		q, err := s.CreateQoSSpecs(ctx, "q1", map[string]*string{"a": sp("1")})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := s.CreateQoSSpecs(ctx, "q2", nil)
		gold, _ := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "gold"})
		if err := s.AssociateQoSSpecs(ctx, other.ID, gold.ID); err != nil {
			t.Fatal(err)
		}
		const missing = "00000000-0000-0000-0000-000000000000"
		for _, c := range []struct {
			name string
			call func() error
			kind fault.Kind
			msg  string
		}{
			{"name taken", func() error { _, err := s.CreateQoSSpecs(ctx, "q1", nil); return err },
				fault.Conflict, "QoS Specs q1 already exists."},
			{"blank name", func() error { _, err := s.CreateQoSSpecs(ctx, "  ", nil); return err },
				fault.BadRequest, "An invalid 'name' value was provided. The 'name' can not be empty."},
			{"bad consumer", func() error {
				_, err := s.CreateQoSSpecs(ctx, "q3", map[string]*string{"consumer": sp("frontend")})
				return err
			}, fault.BadRequest, "Invalid qos specs: Valid consumer of QoS specs are: QoSConsumerValues(default=<class " +
				"'oslo_versionedobjects.fields.UnspecifiedDefault'>,nullable=False,valid_values=('back-end', 'front-end', 'both'))"},
			{"empty key", func() error { _, err := s.CreateQoSSpecs(ctx, "q3", map[string]*string{"": sp("1")}); return err },
				fault.BadRequest, `Invalid input received: Key "" has 0 characters, less than 1.`},
			{"long value", func() error {
				_, err := s.CreateQoSSpecs(ctx, "q3", map[string]*string{"k": sp(strings.Repeat("v", 256))})
				return err
			}, fault.BadRequest, `Invalid input received: Value for key "k" has 256 characters, more than 255.`},
			{"update missing", func() error { _, err := s.UpdateQoSSpecs(ctx, missing, map[string]*string{"a": sp("2")}); return err },
				fault.NotFound, "No such QoS spec " + missing + "."},
			{"update bad consumer", func() error {
				_, err := s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"a": sp("2"), "consumer": sp("x")})
				return err
			}, fault.BadRequest, "Invalid qos specs: Valid consumer of QoS specs are: QoSConsumerValues(default=<class " +
				"'oslo_versionedobjects.fields.UnspecifiedDefault'>,nullable=False,valid_values=('back-end', 'front-end', 'both'))"},
			{"update long value", func() error {
				_, err := s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"a": sp(strings.Repeat("v", 256))})
				return err
			}, fault.BadRequest, `Invalid qos specs: Invalid input received: Value for key "a" has 256 characters, more than 255.`},
			{"unset a missing key", func() error { _, err := s.DeleteQoSSpecsKeys(ctx, q.ID, []string{"a", "b"}); return err },
				fault.NotFound, "QoS spec " + q.ID + " has no spec with key b."},
			{"associate missing specs", func() error { return s.AssociateQoSSpecs(ctx, missing, gold.ID) },
				fault.NotFound, "No such QoS spec " + missing + "."},
			{"associate missing type", func() error { return s.AssociateQoSSpecs(ctx, q.ID, missing) },
				fault.NotFound, "Volume type " + missing + " could not be found."},
			{"associate a type with others", func() error { return s.AssociateQoSSpecs(ctx, q.ID, gold.ID) },
				fault.BadRequest, "Invalid volume type: Type " + gold.ID + " is already associated with another qos specs: " + other.ID},
			{"disassociate missing type", func() error { return s.DisassociateQoSSpecs(ctx, q.ID, missing) },
				fault.NotFound, "Volume type " + missing + " could not be found."},
			{"disassociate_all missing", func() error { return s.DisassociateAllQoSSpecs(ctx, missing) },
				fault.NotFound, "No such QoS spec " + missing + "."},
			{"delete in use", func() error { return s.DeleteQoSSpecs(ctx, other.ID, false) },
				fault.BadRequest, "QoS Specs " + other.ID + " is still associated with entities."},
			{"delete missing", func() error { return s.DeleteQoSSpecs(ctx, missing, true) },
				fault.NotFound, "No such QoS spec " + missing + "."},
			{"bad sort key", func() error {
				_, _, err := s.QoSSpecsList(ctx, storage.QoSSpecsFilter{SortKeys: []string{"name"}})
				return err
			},
				fault.BadRequest, "Invalid input received: Invalid sort key"},
			{"missing marker", func() error { _, _, err := s.QoSSpecsList(ctx, storage.QoSSpecsFilter{Marker: missing}); return err },
				fault.NotFound, "No such QoS spec " + missing + "."},
		} {
			t.Run(c.name, func(t *testing.T) {
				st := qosState(t, db, feed)
				refusal{kind: c.kind, msg: c.msg}.check(t, c.call())
				if now := qosState(t, db, feed); now != st {
					t.Fatalf("a refused call changed\n%s\n%s", st, now)
				}
			})
		}
	})
}

// Lists page by keyset in Cinder's orders.
func TestQoSSpecsList(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		s.Now = c.now
		var ids []string
		for _, n := range []string{"c", "a", "b"} {
			c.add(1e9)
			q, err := s.CreateQoSSpecs(ctx, n, map[string]*string{"k": sp(n)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, q.ID)
		}
		names := func(qs []storage.QoSSpecs) string {
			var out []string
			for _, q := range qs {
				out = append(out, q.Name+"="+*q.Specs["k"])
			}
			return strings.Join(out, ",")
		}
		all, more, err := s.QoSSpecsList(ctx, storage.QoSSpecsFilter{})
		if err != nil || more || names(all) != "b=b,a=a,c=c" {
			t.Fatalf("newest first: %s %v %v", names(all), more, err)
		}
		page, more, err := s.QoSSpecsList(ctx, storage.QoSSpecsFilter{SortKeys: []string{"value"}, SortDirs: []string{"asc"}, Limit: 2})
		if err != nil || !more || names(page) != "a=a,b=b" {
			t.Fatalf("first page by name: %s %v %v", names(page), more, err)
		}
		page, more, err = s.QoSSpecsList(ctx, storage.QoSSpecsFilter{SortKeys: []string{"value"}, SortDirs: []string{"asc"}, Limit: 2,
			Marker: page[1].ID})
		if err != nil || more || names(page) != "c=c" {
			t.Fatalf("second page: %s %v %v", names(page), more, err)
		}
		if one, _, err := s.QoSSpecsList(ctx, storage.QoSSpecsFilter{ID: ids[1]}); err != nil || names(one) != "a=a" {
			t.Fatalf("by id: %s %v", names(one), err)
		}
	})
}

// An attachment's connection info carries the front-end QoS specs of
// its volume's type, scaled by the volume's size as Cinder's volume
// manager does; back-end specs are not the host's.
func TestConnectionQoSSpecs(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		gold, err := s.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: "gold"})
		if err != nil {
			t.Fatal(err)
		}
		q, err := s.CreateQoSSpecs(ctx, "q1", map[string]*string{"consumer": sp("back-end"), "total_iops_sec_per_gb": sp("10"),
			"total_iops_sec_per_gb_min": sp("300"), "read_bytes_sec": sp("1000"), "write_iops_sec_per_gb": sp("5"),
			"write_iops_sec_max": sp("40")})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AssociateQoSSpecs(ctx, q.ID, gold.ID); err != nil {
			t.Fatal(err)
		}
		vol := exported(t, s, alice, storage.VolumeCreate{Size: 20, VolumeType: "gold"})
		info, err := s.InitializeConnection(ctx, alice, vol.ID, connector())
		if err != nil || info.Data["qos_specs"] != nil {
			t.Fatalf("back-end specs reach the host: %v %v", info.Data["qos_specs"], err)
		}
		if _, err := s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"consumer": sp("front-end")}); err != nil {
			t.Fatal(err)
		}
		want := `{"read_bytes_sec":"1000","total_iops_sec":300,"write_iops_sec":40}`
		info, err = s.InitializeConnection(ctx, alice, vol.ID, connector())
		if err != nil || jsonOf(t, info.Data["qos_specs"]) != want {
			t.Fatalf("front-end specs: %s %v, want %s", jsonOf(t, info.Data["qos_specs"]), err, want)
		}
		a, err := s.CreateAttachment(ctx, alice, storage.AttachmentCreate{VolumeID: vol.ID, InstanceUUID: inst1, Connector: connector()})
		if err != nil || jsonOf(t, a.ConnectionInfo["qos_specs"]) != want {
			t.Fatalf("attachment's specs: %s %v, want %s", jsonOf(t, a.ConnectionInfo["qos_specs"]), err, want)
		}
		// A value Python's int() refuses is Cinder's error.
		if _, err := s.UpdateQoSSpecs(ctx, q.ID, map[string]*string{"total_iops_sec_per_gb": sp("1.5")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InitializeConnection(ctx, alice, vol.ID, connector()); fault.KindOf(err) != fault.Internal {
			t.Fatalf("a spec int() refuses: %v", err)
		}
	})
}
