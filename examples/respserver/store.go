package main

import (
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// A store is an in-memory map from keys to values with expiry, split into
// shards so that loops and goroutines on different keys rarely meet on a
// lock. Expired keys are dropped when touched, and by sweep.
type store struct {
	seed   maphash.Seed
	shards [64]shard
	now    func() int64 // milliseconds; a test may set it
}

type shard struct {
	mu   sync.Mutex
	data map[string]entry
}

type entry struct {
	value    []byte
	expireAt int64 // Unix milliseconds; 0 means never
}

func newStore() *store {
	s := &store{seed: maphash.MakeSeed(), now: func() int64 { return time.Now().UnixMilli() }}
	for i := range s.shards {
		s.shards[i].data = make(map[string]entry)
	}
	return s
}

func (s *store) shardIndex(key []byte) int {
	return int(maphash.Bytes(s.seed, key) % uint64(len(s.shards)))
}

func (s *store) shard(key []byte) *shard { return &s.shards[s.shardIndex(key)] }

// lookup returns key's live entry; the caller holds sh.mu. An expired one
// is deleted.
func (sh *shard) lookup(key []byte, now int64) (entry, bool) {
	e, ok := sh.data[string(key)]
	if ok && e.expireAt != 0 && e.expireAt <= now {
		delete(sh.data, string(key))
		return entry{}, false
	}
	return e, ok
}

// get returns key's value; ok is false if there is none. Stored values
// are never changed in place (a write stores a new slice), so the caller
// may read it after the lock is released, but must not change it.
func (s *store) get(key []byte) (_ []byte, ok bool) {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.lookup(key, s.now())
	return e.value, ok
}

// A setMode is SET's NX or XX condition.
type setMode int

const (
	setAlways setMode = iota
	setIfAbsent
	setIfPresent
)

// set stores value under key, to expire at expireAt (Unix milliseconds;
// 0: never), if mode allows, and reports whether it stored. The store
// keeps value: the caller must not change it.
func (s *store) set(key, value []byte, expireAt int64, mode setMode) bool {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, exists := sh.lookup(key, s.now())
	if mode == setIfAbsent && exists || mode == setIfPresent && !exists {
		return false
	}
	sh.data[string(key)] = entry{value: value, expireAt: expireAt}
	return true
}

// getMany appends the values of keys to dst, as they all were at one
// moment (under every shard's lock they live in), and returns it. As with
// get, the values must not be changed.
func (s *store) getMany(keys [][]byte, dst []bulk) []bulk {
	idx := make([]int, len(keys))
	for i, k := range keys {
		idx[i] = s.shardIndex(k)
	}
	locks := slices.Compact(slices.Sorted(slices.Values(idx)))
	for _, i := range locks {
		s.shards[i].mu.Lock()
	}
	now := s.now()
	for i, k := range keys {
		e, ok := s.shards[idx[i]].lookup(k, now)
		dst = append(dst, bulk{v: e.value, ok: ok})
	}
	for _, i := range locks {
		s.shards[i].mu.Unlock()
	}
	return dst
}

// setMany stores key/value pairs atomically: no reader sees some set and
// others not. The store keeps the values.
func (s *store) setMany(pairs [][]byte) {
	idx := make([]int, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		idx = append(idx, s.shardIndex(pairs[i]))
	}
	locks := slices.Compact(slices.Sorted(slices.Values(idx)))
	for _, i := range locks {
		s.shards[i].mu.Lock()
	}
	for i := 0; i < len(pairs); i += 2 {
		s.shards[idx[i/2]].data[string(pairs[i])] = entry{value: pairs[i+1]}
	}
	for _, i := range locks {
		s.shards[i].mu.Unlock()
	}
}

// del deletes key and reports whether it existed.
func (s *store) del(key []byte) bool {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.lookup(key, s.now())
	delete(sh.data, string(key))
	return ok
}

func (s *store) exists(key []byte) bool {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.lookup(key, s.now())
	return ok
}

// update replaces key's value by f(old, exists) under the shard's lock,
// keeping its expiry; f returns the new value, or an error to change
// nothing.
func (s *store) update(key []byte, f func(old []byte, exists bool) ([]byte, error)) error {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.lookup(key, s.now())
	v, err := f(e.value, ok)
	if err != nil {
		return err
	}
	e.value = v
	sh.data[string(key)] = e
	return nil
}

// expire sets key to expire at expireAt (Unix milliseconds; at once if
// that is not in the future) and reports whether the key exists.
func (s *store) expire(key []byte, expireAt int64) bool {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now()
	e, ok := sh.lookup(key, now)
	if !ok {
		return false
	}
	if expireAt <= now {
		delete(sh.data, string(key))
		return true
	}
	e.expireAt = expireAt
	sh.data[string(key)] = e
	return true
}

// ttl returns key's time to live in milliseconds: -2 if it does not exist,
// -1 if it never expires.
func (s *store) ttl(key []byte) int64 {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now()
	e, ok := sh.lookup(key, now)
	switch {
	case !ok:
		return -2
	case e.expireAt == 0:
		return -1
	}
	return e.expireAt - now
}

// sweep drops expired keys, looking at up to perShard keys of each shard
// (Go's map iteration starts at a random place), as Redis's active expiry
// samples keys.
func (s *store) sweep(perShard int) (dropped int) {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		seen := 0
		for k, e := range sh.data {
			if seen++; seen > perShard {
				break
			}
			if e.expireAt != 0 && e.expireAt <= now {
				delete(sh.data, k)
				dropped++
			}
		}
		sh.mu.Unlock()
	}
	return dropped
}

// len returns the number of keys, expired ones not yet dropped included.
func (s *store) len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.Lock()
		n += len(s.shards[i].data)
		s.shards[i].mu.Unlock()
	}
	return n
}
