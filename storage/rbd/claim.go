package rbd

import "errors"

// ErrNotClaimed: CreateClaimed of a volume whose image is there but not
// marked with the claim: another's (a pool on the same Ceph pool), left
// as it is.
var ErrNotClaimed = errors.New("rbd: image is not this claim's")

// claimKey is the image metadata key that marks an image as a claim's.
const claimKey = "gostack.claim"
