package feastapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/strata-data/strata/online"
)

// pointer is the record, kept in the online store under online.Space(env, instance), that names the complete
// key space serving one view instance. Every replica sharing the store follows it; it is replaced only by
// compare-and-swap, and only after the space it names is completely loaded.
type pointer struct {
	// Gen rises with every swap, so a replica never goes back to an older record it read late.
	Gen int64 `json:"gen"`
	// Space is the served key space ("" once the instance is no longer served); Rows its entity count.
	Space    string `json:"space,omitempty"`
	Snapshot int64  `json:"snapshot,omitempty"`
	Rows     int64  `json:"rows,omitempty"`
	// Retired spaces stay readable until After (replicas that have not re-read the record still read them),
	// then one replica claims them (Deleting) and deletes them.
	Retired []retired `json:"retired,omitempty"`
	// Deletions counts claims: a load that saw another count when it started cannot trust its rows (a
	// deletion of the same space may have overlapped it).
	Deletions int64 `json:"deletions,omitempty"`
}

type retired struct {
	Space string    `json:"space"`
	Rows  int64     `json:"rows,omitempty"`
	After time.Time `json:"after"`
	// Complete is true for a space that was served (so it may be served again, e.g. after a rollback); a
	// space abandoned half-loaded is only ever deleted.
	Complete bool `json:"complete,omitempty"`
	Deleting bool `json:"deleting,omitempty"`
}

// find returns the retired entry of space, or nil.
func (p *pointer) find(space string) *retired {
	for i := range p.Retired {
		if p.Retired[i].Space == space {
			return &p.Retired[i]
		}
	}
	return nil
}

// without returns the retired list without space.
func (p *pointer) without(space string) []retired {
	return slices.DeleteFunc(slices.Clone(p.Retired), func(r retired) bool { return r.Space == space })
}

// serve returns the record that serves space (rows entities of snapshot), retiring the current space, readable
// for grace, and taking space off the retired list.
func (p pointer) serve(space string, snapshot, rows int64, until time.Time) pointer {
	next := p
	next.Retired = p.without(space)
	if p.Space != "" && p.Space != space {
		next.Retired = append(next.Retired, retired{Space: p.Space, Rows: p.Rows, After: until, Complete: true})
	}
	next.Space, next.Snapshot, next.Rows = space, snapshot, rows
	return next
}

// readPointer returns the raw record (nil when none) and its decoded value.
func (s *Syncer) readPointer(ctx context.Context, env, name string) ([]byte, pointer, error) {
	raw, err := s.Store.Pointer(ctx, online.Space(env, name))
	if err != nil || raw == nil {
		return raw, pointer{}, err
	}
	var p pointer
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, pointer{}, fmt.Errorf("online pointer %s: %v", online.Space(env, name), err)
	}
	return raw, p, nil
}

// swapPointer replaces the record raw with next (its Gen raised); false when another replica changed it first.
func (s *Syncer) swapPointer(ctx context.Context, env, name string, raw []byte, next pointer) (pointer, bool, error) {
	next.Gen++
	enc, err := json.Marshal(next)
	if err != nil {
		return next, false, err
	}
	ok, err := s.Store.SwapPointer(ctx, online.Space(env, name), raw, enc)
	return next, ok, err
}

// complete tells whether a recorded space still holds its rows: its completion marker (the latest event time
// the store records after every row is written) is there, or it was loaded empty.
func (s *Syncer) complete(ctx context.Context, space string, rows int64) (bool, error) {
	if rows == 0 {
		return true, nil
	}
	_, ok, err := s.Store.LastEvent(ctx, space)
	return ok, err
}

// follow serves what the record of (env, name) names, unless this replica already serves a later record.
func (s *Syncer) follow(ctx context.Context, env, name string) error {
	return s.followIf(ctx, env, name, nil)
}

// followIf is follow for a record that accept (when not nil) accepts.
func (s *Syncer) followIf(ctx context.Context, env, name string, accept func(pointer) (bool, error)) error {
	_, p, err := s.readPointer(ctx, env, name)
	if err != nil || p.Gen == 0 {
		return err
	}
	if accept != nil {
		if ok, err := accept(p); err != nil || !ok {
			return err
		}
	}
	if p.Space != "" {
		if ok, err := s.complete(ctx, p.Space, p.Rows); err != nil || !ok {
			return err // a damaged record is left to the next load, which loads the snapshot again
		}
	}
	return s.serve(ctx, env, name, p) // adopt p, and give a newly served space the pushes (sync.go)
}

// adopt makes p this replica's served state of (env, name) unless it already holds a later generation.
func (s *Syncer) adopt(env, name string, p pointer) {
	key := env + "/" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.served[key]; ok && cur.gen > p.Gen {
		return
	}
	if s.served == nil {
		s.served = map[string]loaded{}
	}
	s.served[key] = loaded{space: p.Space, snapshot: p.Snapshot, gen: p.Gen}
}

// retire puts an abandoned space (loaded by this replica, never served) on the retired list, so it is deleted
// after the grace period; best effort.
func (s *Syncer) retire(ctx context.Context, env, name, space string) {
	for try := 0; try < 5; try++ {
		raw, p, err := s.readPointer(ctx, env, name)
		if err != nil || p.Space == space || p.find(space) != nil {
			return
		}
		p.Retired = append(p.Retired, retired{Space: space, After: s.now().Add(s.Grace)})
		if _, ok, err := s.swapPointer(ctx, env, name, raw, p); ok || err != nil {
			return
		}
	}
}

// staleClaim is how long a claimed deletion may stay unfinished (its replica died) before another claims it.
const staleClaim = 10 * time.Minute

// collect deletes the retired spaces of (env, name) whose grace period has passed: it claims them in the record
// first (so no replica serves them again), deletes them, then takes them off the list.
func (s *Syncer) collect(ctx context.Context, env, name string) error {
	raw, p, err := s.readPointer(ctx, env, name)
	if err != nil || raw == nil {
		return err
	}
	now := s.now()
	var claimed []string
	for i, r := range p.Retired {
		due := !r.Deleting && !r.After.After(now) || r.Deleting && now.Sub(r.After) > staleClaim
		if due && r.Space != p.Space {
			p.Retired[i].Deleting, p.Retired[i].After = true, now
			claimed = append(claimed, r.Space)
		}
	}
	if len(claimed) == 0 {
		return nil
	}
	p.Deletions++
	if _, ok, err := s.swapPointer(ctx, env, name, raw, p); err != nil || !ok {
		return err // another replica changed the record: the next sync collects
	}
	for _, sp := range claimed {
		if err := s.Store.DeleteSpace(ctx, sp); err != nil {
			return fmt.Errorf("deleting retired key space %s: %w", sp, err)
		}
	}
	for try := 0; try < 5; try++ {
		raw, p, err := s.readPointer(ctx, env, name)
		if err != nil {
			return err
		}
		p.Retired = slices.DeleteFunc(p.Retired, func(r retired) bool { return r.Deleting && slices.Contains(claimed, r.Space) })
		if _, ok, err := s.swapPointer(ctx, env, name, raw, p); ok || err != nil {
			return err
		}
	}
	return nil
}
