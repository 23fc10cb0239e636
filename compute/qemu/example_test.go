package qemu_test

import (
	"context"
	"fmt"
	"os"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/qemu"
	"github.com/gostack/gostack/compute/virt"
)

// A guest from spawn to destroy. Guests outlive the Driver: a new one
// over the same StateDir lists them and drives them.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "qemu-")
	defer os.RemoveAll(dir)
	d, err := qemu.New(qemu.Config{StateDir: dir, Accel: "tcg"})
	if err != nil {
		fmt.Println(err)
		return
	}
	id := uuid.NewString()
	// No disk: SeaBIOS boots and waits. A real guest has Disk, Ports and
	// ConfigISO.
	if err := d.Spawn(ctx, virt.Guest{ID: id, Name: "tiny", VCPUs: 1, MemoryMB: 64}); err != nil {
		fmt.Println(err)
		return
	}
	defer d.Destroy(ctx, id)

	st, _ := d.State(ctx, id)
	fmt.Println(st == virt.PowerRunning)
	_ = virt.Suspend(ctx, d, id) // memory saved in StateDir/<id>/memory.state, QEMU gone
	st, _ = d.State(ctx, id)
	fmt.Println(st == virt.PowerSuspended)
	_ = virt.Resume(ctx, d, id)

	again, _ := qemu.New(qemu.Config{StateDir: dir, Accel: "tcg"}) // the agent restarted
	list, _ := again.List(ctx)
	fmt.Println(len(list), list[0].Power == virt.PowerRunning)
}
