package storage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

// A volume in the Store, on SQLite: created, an extend to a smaller
// size refused with Cinder's exception, and unseen by another project.
func Example() {
	dir, _ := os.MkdirTemp("", "storage-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "s.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := storage.NewStore(db, watch.New(db))
	demo := storage.Viewer{Project: "demo"}

	name := "data"
	vol, err := s.CreateVolume(ctx, demo, storage.VolumeCreate{UserID: "alice", Name: &name, Size: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*vol.Name, vol.Size, vol.Status, vol.AvailabilityZone)

	_, err = s.ExtendVolume(ctx, demo, vol.ID, 5)
	fmt.Println(fault.KindOf(err), fault.TypeOf(err))

	_, err = s.Volume(ctx, storage.Viewer{Project: "other"}, vol.ID)
	fmt.Println(fault.KindOf(err))
	// Output:
	// data 10 creating nova
	// bad request InvalidInput
	// not found
}
