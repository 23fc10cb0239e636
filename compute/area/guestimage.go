package area

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/compute/guestimage"
	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/compose"
)

// guestImageName is the tiny guest image's name in the image service.
const guestImageName = "gostack-tiny"

const imageImportKey = "image.import"

// uploadGuestImage builds the tiny guest image (compute/guestimage:
// Debian's kernel and busybox from the package mirror, the guest agent
// built with the go command, so this runs where gostack's source and Go
// are, as under make run) and adds it to the image service as the admin
// project's public image gostack-tiny, unless it is there already. It
// runs in the background; a failure is logged and leaves the cloud
// without the image.
func (c *Compute) uploadGuestImage(env *compose.Env) {
	env.Go("guest image", func(ctx context.Context) error {
		imp, err := compose.Provided[func(context.Context, string, string, string, bool, io.Reader, int64) (string, error)](env, imageImportKey)
		if err != nil {
			env.Log.Warn("guest image: no image service to upload it to", "err", err)
			return nil
		}
		proj, err := identity.NewStore(env.DB, env.Watch).GetProjectByName(ctx, identity.DefaultDomainID, "admin")
		if err != nil {
			env.Log.Warn("guest image: the admin project", "err", err)
			return nil
		}
		dir := c.Config.GuestImageDir
		if dir == "" {
			dir = filepath.Join(env.Config.DataDir, "guest-image")
		}
		img, err := guestimage.Build(ctx, guestimage.Options{Dir: dir, Log: env.Log})
		if err != nil {
			if ctx.Err() == nil {
				env.Log.Warn("guest image: not built", "err", err)
			}
			return nil
		}
		f, err := os.Open(img.Path)
		if err != nil {
			env.Log.Warn("guest image", "err", err)
			return nil
		}
		defer f.Close()
		id, err := imp(ctx, proj.ID, guestImageName, "raw", true, f, img.Size)
		if err != nil {
			if ctx.Err() == nil {
				env.Log.Warn("guest image: not uploaded", "err", err)
			}
			return nil
		}
		env.Log.Info("guest image ready", "image", id, "name", guestImageName, "bytes", img.Size, "kernel", img.Kernel)
		return nil
	})
}
