//go:build !cgo || !(pacific || quincy || reef || squid)

package rbd

import "context"

func (*Client) CopyToPool(context.Context, string, string, string) error { return ErrUnavailable }
