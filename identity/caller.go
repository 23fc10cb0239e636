package identity

// Generation moves whenever a validation's outcome may have changed: on
// every revocation here, and on every identity change another part of the
// process reports with Changed (the all-in-one daemon reports each change
// of the identity watch feed).
func (s *Auth) Generation() int64 { return s.gen.Load() }

// Changed reports that identity state changed (see Generation).
func (s *Auth) Changed() { s.gen.Add(1) }
