package iscsi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Unexport removes volume id's target: its LUN, its ACL and its CHAP
// account go with it (--force: initiators still logged in are logged
// out). A volume that is not exported, or a tgtd that does not run, is
// no error; Unexport never starts tgtd.
func (e *Exporter) Unexport(ctx context.Context, id string) error {
	if err := e.check(); err != nil {
		return err
	}
	if err := e.checkVolumeID(id); err != nil {
		return err
	}
	unlock, err := e.lock()
	if err != nil {
		return err
	}
	defer unlock()
	p, err := e.begin(ctx, false)
	if errors.Is(err, ErrNotRunning) {
		return nil // tgtd took every target with it
	} else if err != nil {
		return err
	}
	err = p.remove(ctx, id, e.IQN(id))
	if serr := e.saveState(p.st); err == nil {
		err = serr
	}
	return err
}

// remove deletes target iqn, if tgtd has it, and the accounts this
// Exporter made for it or that were bound to it alone.
func (p *pass) remove(ctx context.Context, id, iqn string) error {
	var users []string
	for u, of := range p.st.Accounts {
		if of == iqn {
			users = append(users, u)
		}
	}
	if t := p.find(iqn); t != nil {
		for _, u := range t.Accounts {
			if bound := p.boundTo(u); len(bound) == 1 && bound[0] == t {
				users = append(users, u)
			}
		}
		tid := strconv.Itoa(t.TID)
		err := p.adm(ctx, id, "delete target "+tid+" "+iqn, "--mode", "target", "--op", "delete", "--force", "--tid", tid)
		if err != nil && !isAdm(err, msgNoTarget) {
			return err
		}
		for i, x := range p.targets {
			if x == t {
				p.targets = append(p.targets[:i], p.targets[i+1:]...)
				break
			}
		}
		p.e.log().Info("iscsi: target deleted", "volume", id, "tid", t.TID, "target", iqn)
	}
	for _, u := range users {
		if len(p.boundTo(u)) > 0 {
			continue // bound to another target too: not this volume's alone
		}
		if err := p.deleteAccount(ctx, id, u); err != nil {
			return err
		}
	}
	delete(p.st.Targets, iqn)
	return nil
}

// Reconcile makes tgtd export exactly want, as far as this Exporter's
// targets go (names starting with Prefix + "volume-"): each wanted
// volume is exported as Export does it (a target tgtd lost in a restart
// is made again with the same name, LUN and credentials), and targets of
// volumes not wanted are removed with their accounts, as are accounts
// this Exporter made for targets that are gone. Other targets and
// accounts are left alone. It starts tgtd first if none runs and want
// is not empty; with nothing wanted it never starts tgtd (as Unexport):
// a tgtd that runs loses this Exporter's targets, one that does not had
// none.
//
// The Connections are in the order of want, with the credentials used
// (new random ones for an Export without). All of want is checked
// before anything is changed (ErrInvalid: a bad Export, one volume twice,
// one CHAP user for two volumes); after that, a volume that cannot be
// exported does not stop the others: its error is joined to the one
// returned, and its Connection is the zero value.
func (e *Exporter) Reconcile(ctx context.Context, want []Export) ([]Connection, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	wanted := make(map[string]bool, len(want))
	users := make(map[string]string, len(want))
	for i := range want {
		x := &want[i]
		if err := e.checkExport(x); err != nil {
			return nil, err
		}
		iqn := e.IQN(x.VolumeID)
		if wanted[iqn] {
			return nil, fmt.Errorf("%w: volume %s is wanted twice", ErrInvalid, x.VolumeID)
		}
		wanted[iqn] = true
		if other, ok := users[x.CHAP.Username]; ok {
			return nil, fmt.Errorf("%w: volumes %s and %s have the same CHAP user %s", ErrInvalid, other, x.VolumeID, x.CHAP.Username)
		}
		users[x.CHAP.Username] = x.VolumeID
	}
	unlock, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := e.begin(ctx, len(want) > 0)
	if len(want) == 0 && errors.Is(err, ErrNotRunning) {
		return []Connection{}, nil // tgtd took every target with it
	} else if err != nil {
		return nil, err
	}
	conns := make([]Connection, len(want))
	var errs []error
	for i, x := range want {
		c, err := p.apply(ctx, x)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		conns[i] = c
	}
	for _, t := range append([]*Target(nil), p.targets...) {
		if id, ok := e.volumeOf(t.IQN); ok && !wanted[t.IQN] {
			if err := p.remove(ctx, id, t.IQN); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for u, iqn := range p.st.Accounts {
		if wanted[iqn] || p.find(iqn) != nil || len(p.boundTo(u)) > 0 {
			continue
		}
		id, _ := e.volumeOf(iqn)
		if err := p.deleteAccount(ctx, id, u); err != nil {
			errs = append(errs, err)
		}
	}
	for iqn := range p.st.Targets {
		if !wanted[iqn] && p.find(iqn) == nil {
			delete(p.st.Targets, iqn)
		}
	}
	if err := e.saveState(p.st); err != nil {
		errs = append(errs, err)
	}
	return conns, errors.Join(errs...)
}
