package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

func TestReportBackend(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		c := &clock{t: time.Now().UTC()}
		s.Now = c.now
		before := snapshot(t, db, feed)
		for _, bad := range []struct {
			host string
			r    storage.BackendReport
			want string
		}{
			{"", storage.BackendReport{}, `Invalid input received: host "" must be a host@backend#pool without spaces.`},
			{"a b", storage.BackendReport{}, `Invalid input received: host "a b" must be a host@backend#pool without spaces.`},
			{"h@b#p", storage.BackendReport{TotalCapacityGB: storage.GB(-1)}, "Invalid input received: total_capacity_gb must be a finite number of GiB at least 0, infinite or unknown."},
			{"h@b#p", storage.BackendReport{FreeCapacityGB: storage.GB(math.Inf(1))}, "Invalid input received: free_capacity_gb must be a finite number of GiB at least 0, infinite or unknown."},
			{"h@b#p", storage.BackendReport{ProvisionedCapacityGB: ptr(math.NaN())}, "Invalid input received: provisioned_capacity_gb must be a finite number at least 0."},
			{"h@b#p", storage.BackendReport{MaxOverSubscriptionRatio: -2}, "Invalid input received: max_over_subscription_ratio must be a finite number at least 0."},
			{"h@b#p", storage.BackendReport{ReservedPercentage: 101}, "Invalid input received: reserved_percentage must be 0 to 100."},
			{"h@b#p", storage.BackendReport{Capabilities: map[string]any{"x": make(chan int)}}, "Invalid input received: capabilities must be JSON values: "},
			{"h@b#p", storage.BackendReport{VendorName: "\x00"}, "Invalid input received: vendor_name must be valid UTF-8 without NUL characters."},
		} {
			_, err := s.ReportBackend(ctx, bad.host, bad.r)
			refusal{fault.BadRequest, bad.want, true}.check(t, err)
		}
		before.same(t, db, feed)

		head, _, _ := feed.Head(ctx)
		r := storage.BackendReport{VolumeBackendName: "lvm", StorageProtocol: "iSCSI", TotalCapacityGB: storage.GB(100),
			FreeCapacityGB: storage.GB(90), ThinProvisioningSupport: true, Capabilities: map[string]any{"tier": "gold"}}
		b, err := s.ReportBackend(ctx, "n1@lvm#vg", r)
		if err != nil || !b.Up || b.AvailabilityZone != storage.DefaultAvailabilityZone || b.Report.VolumeBackendName != "lvm" || b.Disabled {
			t.Fatalf("report: %+v %v", b, err)
		}
		c.add(30 * time.Second)
		r.FreeCapacityGB = storage.GB(80) // figures only: no feed entry
		if _, err := s.ReportBackend(ctx, "n1@lvm#vg", r); err != nil {
			t.Fatal(err)
		}
		r.Capabilities = map[string]any{"tier": "silver"}
		if _, err := s.ReportBackend(ctx, "n1@lvm#vg", r); err != nil {
			t.Fatal(err)
		}
		batch, err := feed.Since(ctx, watch.Query{Area: storage.FeedArea, Since: head})
		if err != nil || len(batch.Changes) != 2 || batch.Changes[0].Op != watch.Create || batch.Changes[1].Op != watch.Update ||
			batch.Changes[0].Kind != "backend" || batch.Changes[0].ID != "n1@lvm#vg" {
			t.Fatalf("feed: %+v %v", batch.Changes, err)
		}
		got, err := s.Backend(ctx, "n1@lvm#vg")
		if n, _ := got.Report.FreeCapacityGB.Number(); err != nil || n != 80 || got.Report.Capabilities["tier"] != "silver" || !got.UpdatedAt.Equal(c.t.Truncate(time.Microsecond)) {
			t.Fatalf("get: %+v %v", got, err)
		}

		// Down after service_down_time without a report.
		c.add(storage.DefaultServiceDownTime)
		if got, _ := s.Backend(ctx, "n1@lvm#vg"); !got.Up {
			t.Fatal("down at exactly service_down_time")
		}
		c.add(time.Second)
		if got, _ := s.Backend(ctx, "n1@lvm#vg"); got.Up {
			t.Fatal("up after service_down_time")
		}
		s.ServiceDownTime = time.Hour
		if got, _ := s.Backend(ctx, "n1@lvm#vg"); !got.Up {
			t.Fatal("ServiceDownTime not used")
		}

		_, err = s.Backend(ctx, "nope")
		refusal{fault.NotFound, "Service nope could not be found.", false}.check(t, err)
		_, err = s.SetBackendDisabled(ctx, "nope", true, "")
		refusal{fault.NotFound, "Service nope could not be found.", false}.check(t, err)
		refusal{fault.NotFound, "Service nope could not be found.", false}.check(t, s.DeleteBackend(ctx, "nope"))

		addPool(t, s, "n2@lvm#vg", "az2", storage.BackendReport{TotalCapacityGB: storage.GB(10), FreeCapacityGB: storage.GB(10)})
		if d, err := s.SetBackendDisabled(ctx, "n2@lvm#vg", true, "maintenance"); err != nil || !d.Disabled || d.DisabledReason != "maintenance" {
			t.Fatalf("disable: %+v %v", d, err)
		}
		zones, err := s.AvailabilityZones(ctx)
		if err != nil || fmt.Sprint(zones) != "[{az2 false} {nova true}]" {
			t.Fatalf("zones: %v %v", zones, err)
		}
		all, err := s.Backends(ctx)
		if err != nil || len(all) != 3 || all[0].Host != defaultPool || all[1].Host != "n1@lvm#vg" {
			t.Fatalf("backends: %+v %v", all, err)
		}
		if d, err := s.SetBackendDisabled(ctx, "n2@lvm#vg", false, "ignored"); err != nil || d.Disabled || d.DisabledReason != "" {
			t.Fatalf("enable: %+v %v", d, err)
		}

		// A pool holding volumes stays.
		vol := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, AvailabilityZone: "az2"})
		if vol.Host != "n2@lvm#vg" {
			t.Fatalf("placed on %q", vol.Host)
		}
		before = snapshot(t, db, feed)
		refusal{fault.Conflict, "Backend n2@lvm#vg still holds 1 volumes.", false}.check(t, s.DeleteBackend(ctx, "n2@lvm#vg"))
		before.same(t, db, feed)
		purge(t, s, alice, vol.ID)
		if err := s.DeleteBackend(ctx, "n2@lvm#vg"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Backend(ctx, "n2@lvm#vg"); fault.KindOf(err) != fault.NotFound {
			t.Fatalf("deleted: %v", err)
		}
	})
}

func TestPlacement(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		c := &clock{t: time.Now().UTC()}
		s.Now = c.now
		// Three small pools besides the big default one, which only
		// volumes of the default type reach.
		s.Scheduler = storage.DefaultScheduler()
		lvm := storage.BackendReport{VolumeBackendName: "small", TotalCapacityGB: storage.GB(20), FreeCapacityGB: storage.GB(20)}
		addPool(t, s, "a@small#p", "", lvm)
		addPool(t, s, "b@small#p", "", lvm)
		addPool(t, s, "c@small#p", "az3", lvm)
		mustType(t, s, storage.VolumeTypeCreate{Name: "small", ExtraSpecs: map[string]string{"volume_backend_name": "small"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "zoned", ExtraSpecs: map[string]string{"volume_backend_name": "small",
			"RESKEY:availability_zones": "az3, az9"}})
		mustType(t, s, storage.VolumeTypeCreate{Name: "elsewhere", ExtraSpecs: map[string]string{"RESKEY:availability_zones": "az8,az9"}})

		// The weigher spreads: each create goes where most is free, which
		// what was placed since the last report takes into account.
		var got []string
		for range 4 {
			got = append(got, mustCreate(t, s, alice, storage.VolumeCreate{Size: 5, VolumeType: "small"}).Host)
		}
		if strings.Join(got, " ") != "a@small#p b@small#p a@small#p b@small#p" {
			t.Fatalf("spread: %v", got)
		}
		b, _ := s.Backend(ctx, "a@small#p")
		if b.AllocatedCapacityGB != 10 {
			t.Fatalf("allocated: %+v", b)
		}
		// A report resets the figures: a reports 20 free again (its
		// volumes are thin, say) and takes the next.
		addPool(t, s, "a@small#p", "", lvm)
		if v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 5, VolumeType: "small"}); v.Host != "a@small#p" {
			t.Fatalf("after a report: %s", v.Host)
		}
		// The type's zones.
		if v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "zoned"}); v.Host != "c@small#p" || v.AvailabilityZone != "az3" {
			t.Fatalf("type zones: %+v", v)
		}
		before := snapshot(t, db, feed)
		_, err := s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, VolumeType: "zoned", AvailabilityZone: "nova"})
		refusal{fault.BadRequest, "Availability zone 'nova' is invalid.", false}.check(t, err)
		_, err = s.CreateVolume(ctx, alice, storage.VolumeCreate{Size: 1, VolumeType: "elsewhere"})
		refusal{fault.BadRequest, "Volume type is only supported in these availability zones: ['az8', 'az9']", false}.check(t, err)
		before.same(t, db, feed)

		// Nothing fits: the volume is made in error, on no host.
		v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 21, VolumeType: "small"})
		if v.Status != storage.VolumeError || v.Host != "" || v.Message != "No valid backend was found. No weighed backends available" {
			t.Fatalf("no room: %+v", v)
		}
		// A down pool and a disabled one take nothing.
		c.add(storage.DefaultServiceDownTime + time.Second)
		addPool(t, s, defaultPool, "", storage.BackendReport{VolumeBackendName: "lvm", TotalCapacityGB: storage.GB(100000), FreeCapacityGB: storage.GB(100000)})
		addPool(t, s, "b@small#p", "", lvm)
		if _, err := s.SetBackendDisabled(ctx, "b@small#p", true, ""); err != nil {
			t.Fatal(err)
		}
		if v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "small"}); v.Status != storage.VolumeError {
			t.Fatalf("a down and a disabled pool took %+v", v)
		}
		if v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1}); v.Host != defaultPool {
			t.Fatalf("the default pool reported again: %+v", v)
		}
	})
}

// TestClone places a clone on its source's pool, or nowhere.
func TestClone(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		addPool(t, s, "small@lvm#p", "", storage.BackendReport{VolumeBackendName: "lvm", TotalCapacityGB: storage.GB(8), FreeCapacityGB: storage.GB(8)})
		addPool(t, s, "zz@lvm#p", "", storage.BackendReport{VolumeBackendName: "lvm", TotalCapacityGB: storage.GB(10), FreeCapacityGB: storage.GB(10)})
		src := mustCreate(t, s, alice, storage.VolumeCreate{Size: 3})
		if src.Host != defaultPool {
			t.Fatalf("source on %s", src.Host)
		}
		if _, err := db.Exec(ctx, "UPDATE storage_volumes SET host = ?, status = ? WHERE id = ?", "small@lvm#p", "available", src.ID); err != nil {
			t.Fatal(err)
		}
		if v := mustCreate(t, s, alice, storage.VolumeCreate{SourceVolID: src.ID}); v.Host != "small@lvm#p" {
			t.Fatalf("clone on %s", v.Host)
		}
		v := mustCreate(t, s, alice, storage.VolumeCreate{SourceVolID: src.ID})
		if v.Status != storage.VolumeError || v.Message != "No valid backend was found. Cannot place volume "+v.ID+" on small@lvm#p." {
			t.Fatalf("a clone its source's pool has no room for: %+v", v)
		}
	})
}

// TestClaimRace creates volumes from many goroutines at once on pools
// with room for ten: on both engines exactly ten are placed (the claim
// compares each pool's generation in the create's transaction) and the
// others fail to find room.
func TestClaimRace(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "tight", ExtraSpecs: map[string]string{"volume_backend_name": "tight"}})
		tight := storage.BackendReport{VolumeBackendName: "tight", TotalCapacityGB: storage.GB(6), FreeCapacityGB: storage.GB(6)}
		addPool(t, s, "t1@tight#p", "", tight)
		tight.TotalCapacityGB, tight.FreeCapacityGB = storage.GB(4), storage.GB(4)
		addPool(t, s, "t2@tight#p", "", tight)
		var wg sync.WaitGroup
		vols := make([]storage.Volume, 24)
		errs := make([]error, len(vols))
		for i := range vols {
			wg.Add(1)
			go func() {
				defer wg.Done()
				vols[i], errs[i] = s.CreateVolume(ctx, storage.Viewer{Project: fmt.Sprintf("p%d", i%3)}, storage.VolumeCreate{Size: 1, VolumeType: "tight"})
			}()
		}
		wg.Wait()
		placed := map[string]int{}
		for i, v := range vols {
			switch {
			case errs[i] != nil:
				t.Fatalf("create: %v", errs[i])
			case v.Host != "":
				placed[v.Host]++
			case v.Status != storage.VolumeError:
				t.Fatalf("unplaced %+v", v)
			}
		}
		if placed["t1@tight#p"] != 6 || placed["t2@tight#p"] != 4 {
			t.Fatalf("placed %v", placed)
		}
		for host, n := range map[string]int64{"t1@tight#p": 6, "t2@tight#p": 4} {
			if b, _ := s.Backend(ctx, host); b.AllocatedCapacityGB != n {
				t.Fatalf("%s allocated %d", host, b.AllocatedCapacityGB)
			}
		}
	})
}

func TestExtendOnPool(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		mustType(t, s, storage.VolumeTypeCreate{Name: "tight", ExtraSpecs: map[string]string{"volume_backend_name": "tight"}})
		addPool(t, s, "t@tight#p", "", storage.BackendReport{VolumeBackendName: "tight", TotalCapacityGB: storage.GB(10), FreeCapacityGB: storage.GB(10)})
		// Volumes of three projects, so that no project lock orders the
		// extends below: only the pool's claim does.
		var vols []storage.Volume
		viewers := []storage.Viewer{alice, bob, {Project: "p-carol"}}
		for _, who := range viewers {
			v := mustCreate(t, s, who, storage.VolumeCreate{Size: 2, VolumeType: "tight"})
			if _, err := s.ReportVolume(ctx, v.Host, v.ID, storage.VolumeReport{Status: storage.VolumeCreating}); err != nil {
				t.Fatal(err)
			}
			vols = append(vols, v)
		}
		before := snapshot(t, db, feed)
		_, err := s.ExtendVolume(ctx, alice, vols[0].ID, 7)
		var nvh *storage.NoValidBackend
		if !errors.As(err, &nvh) || fault.KindOf(err) != fault.Conflict ||
			err.Error() != "No valid backend was found. Cannot place volume "+vols[0].ID+" on t@tight#p." ||
			!strings.Contains(nvh.Explain(), "requested / avail): 5/4.0") {
			t.Fatalf("no room to grow: %v\n%s", err, nvh.Explain())
		}
		before.same(t, db, feed)

		// Extends racing each other on the last 4 GiB: each wants 2 more.
		var wg sync.WaitGroup
		errs := make([]error, len(vols))
		for i, v := range vols {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = s.ExtendVolume(ctx, viewers[i], v.ID, 4) }()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !errors.As(err, &nvh) {
				t.Fatalf("extend: %v", err)
			}
		}
		if b, _ := s.Backend(ctx, "t@tight#p"); won != 2 || b.AllocatedCapacityGB != 10 {
			t.Fatalf("%d extends won, %d allocated", won, b.AllocatedCapacityGB)
		}

		// A disabled pool takes no extend; a volume on no pool cannot grow.
		if _, err := s.SetBackendDisabled(ctx, "t@tight#p", true, ""); err != nil {
			t.Fatal(err)
		}
		idle := 0
		for i := range vols {
			if errs[i] != nil {
				idle = i
			}
		}
		_, err = s.ExtendVolume(ctx, viewers[idle], vols[idle].ID, 3)
		if !errors.As(err, &nvh) || !strings.Contains(nvh.Explain(), "down or disabled") {
			t.Fatalf("disabled pool: %v", err)
		}
		unplaced := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: nowhere(t, s)})
		if _, err := s.ResetStatus(ctx, admin, unplaced.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
			t.Fatal(err)
		}
		_, err = s.ExtendVolume(ctx, alice, unplaced.ID, 2)
		refusal{fault.BadRequest, "Invalid volume: volume is not assigned to a host", false}.check(t, err)
	})
}

// TestPoolStates checks what the scheduler sees of a pool: the report's
// figures with what was placed since added in, and Cinder's ratio and
// capability rules.
func TestPoolStates(t *testing.T) {
	forEngine(t, func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log) {
		ctx := context.Background()
		addPool(t, s, "thin@x#p", "", storage.BackendReport{VolumeBackendName: "x", TotalCapacityGB: storage.GB(100),
			FreeCapacityGB: storage.GB(80), ThinProvisioningSupport: true, Capabilities: map[string]any{"one": 1, "half": 0.5, "tier": "gold"}})
		addPool(t, s, "thick@x#p", "", storage.BackendReport{VolumeBackendName: "x", TotalCapacityGB: storage.GB(100),
			FreeCapacityGB: storage.GB(80), ProvisionedCapacityGB: ptr(30.0), MaxOverSubscriptionRatio: 3})
		addPool(t, s, "inf@x#p", "", storage.BackendReport{VolumeBackendName: "x", TotalCapacityGB: storage.CapacityInfinite,
			FreeCapacityGB: storage.CapacityInfinite, ThinProvisioningSupport: true, MaxOverSubscriptionRatio: 3})
		addPool(t, s, "off@x#p", "", storage.BackendReport{VolumeBackendName: "x"})
		if _, err := s.SetBackendDisabled(ctx, "off@x#p", true, ""); err != nil {
			t.Fatal(err)
		}
		mustType(t, s, storage.VolumeTypeCreate{Name: "x", ExtraSpecs: map[string]string{"volume_backend_name": "x", "one": "<is> True"}})
		// Only thin@x#p has a capability "one" that is true: 1, not 1.0.
		v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 7, VolumeType: "x"})
		if v.Host != "thin@x#p" {
			t.Fatalf("placed on %q", v.Host)
		}
		mustType(t, s, storage.VolumeTypeCreate{Name: "x2", ExtraSpecs: map[string]string{"volume_backend_name": "x", "half": "<is> True"}})
		if v := mustCreate(t, s, alice, storage.VolumeCreate{Size: 1, VolumeType: "x2"}); v.Status != storage.VolumeError {
			t.Fatalf("0.5 is not true: %+v", v)
		}
		thick := mustCreate(t, s, alice, storage.VolumeCreate{Size: 5, VolumeType: ""})
		if _, err := db.Exec(ctx, "UPDATE storage_volumes SET host = ? WHERE id = ?", "thick@x#p", thick.ID); err != nil {
			t.Fatal(err)
		}
		ps, err := s.PoolStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]*storage.PoolState{}
		for _, p := range ps {
			by[p.Host] = p
		}
		if len(ps) != 4 || by["off@x#p"] != nil {
			t.Fatalf("pools %v", ps)
		}
		th, tk, inf := by["thin@x#p"], by["thick@x#p"], by["inf@x#p"]
		if n, _ := th.FreeCapacityGB.Number(); n != 73 || th.ProvisionedCapacityGB != 7 || th.AllocatedCapacityGB != 7 ||
			th.MaxOverSubscriptionRatio != storage.DefaultMaxOverSubscriptionRatio || th.Capabilities["tier"] != "gold" ||
			fmt.Sprint(th.Capabilities["one"]) != "1" || th.Capabilities["pool_name"] != "p" || th.Capabilities["thin_provisioning_support"] != true {
			t.Fatalf("thin: %+v", th)
		}
		if n, _ := tk.FreeCapacityGB.Number(); n != 75 || tk.ProvisionedCapacityGB != 35 || tk.MaxOverSubscriptionRatio != 1 {
			t.Fatalf("thick: %+v", tk)
		}
		if inf.MaxOverSubscriptionRatio != 1 || inf.FreeCapacityGB != storage.CapacityInfinite || inf.Capabilities["free_capacity_gb"] != "infinite" {
			t.Fatalf("infinite: %+v", inf)
		}
		// A deleted volume gives its room back before the next report.
		purge(t, s, alice, v.ID)
		ps, _ = s.PoolStates(ctx)
		for _, p := range ps {
			if p.Host == "thin@x#p" {
				if n, _ := p.FreeCapacityGB.Number(); n != 80 || p.ProvisionedCapacityGB != 0 {
					t.Fatalf("after a delete: %+v", p)
				}
			}
		}
	})
}
