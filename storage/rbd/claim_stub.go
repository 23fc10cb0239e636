//go:build !cgo || !(pacific || quincy || reef || squid)

package rbd

import "context"

func (*Client) CreateClaimed(context.Context, string, string, int64) error { return ErrUnavailable }
func (*Client) Claimed(context.Context, string, string) (bool, error)      { return false, ErrUnavailable }
