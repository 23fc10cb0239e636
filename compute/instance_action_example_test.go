package compute_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// A server's actions as os-instance-actions shows them, on SQLite: the
// request and its caller ride on the context; the build event starts
// when the server is placed and ends with its host's report, as a
// stop's does.
func Example_instanceActions() {
	dir, _ := os.MkdirTemp("", "compute-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "c.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := compute.NewStore(db, watch.New(db))
	alice := func(request string) context.Context {
		return compute.WithRequester(ctx, compute.Requester{RequestID: request, UserID: "alice", ProjectID: "demo"})
	}
	const id = "5f1c0d6e-0000-4000-8000-000000000001"
	if _, err := s.CreateInstance(alice("req-boot"), compute.Instance{UUID: id, ProjectID: "demo", UserID: "alice", Name: "vm"}); err != nil {
		fmt.Println(err)
		return
	}
	s.Place(ctx, id, "h1", "h1", nil)
	s.ReportInstance(ctx, "h1", id, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning})
	s.StartAction(alice("req-stop"), compute.Viewer{Project: "demo"}, id, "stop")
	s.ReportInstance(ctx, "h1", id, compute.InstanceReport{Task: compute.PoweringOff, VMState: compute.Stopped, PowerState: compute.PowerShutdown})

	v := compute.Viewer{Project: "demo"}
	list, _ := s.InstanceActions(ctx, v, id, compute.ActionFilter{})
	for _, a := range list {
		full, _ := s.InstanceAction(ctx, v, id, a.RequestID, false)
		fmt.Println(a.Action, a.RequestID, a.UserID, full.Events[0].Event, full.Events[0].Host, full.Events[0].Result)
	}
	// Output:
	// stop req-stop alice compute_stop_instance h1 Success
	// create req-boot alice compute__do_build_and_run_instance h1 Success
}
