// Package redis is the online store's backend for a team deployment: a Redis server shared by every `strata
// serve` replica. One entity is one string key holding its packed row, so a lookup is one GET and a batch one
// MGET; writes are pipelined, and "newer wins" is decided atomically per key by a small Lua script, except in a
// bulk fill of a fresh space (Put), which sets keys with plain MSETs.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/strata-data/strata/online/record"
)

// upsertScript replaces KEYS[1] with ARGV[1] only when ARGV[1]'s ordering bytes (event_ts, created_ts; bytes
// 10..25 in Lua's 1-based indexing) are greater — or equal, when ARGV[2] is "1" — compared byte by byte (no
// locale-dependent string compare).
var upsertScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and #cur >= 25 then
  local newer = ARGV[2] == '1'
  for i = 10, 25 do
    local x, y = string.byte(ARGV[1], i), string.byte(cur, i)
    if x > y then newer = true break elseif x < y then newer = false break end
  end
  if not newer then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// markScript raises KEYS[1] to ARGV[1] (µs since the epoch; below 2^53, so exact in Lua's numbers).
var markScript = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
if not cur or cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
`)

// swapScript sets KEYS[1] to ARGV[3] if it holds ARGV[2] (ARGV[1] = "1"), or is absent (ARGV[1] = "0").
var swapScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`)

// Store is an online store backend on a Redis server. It is safe for concurrent use.
type Store struct {
	c      *goredis.Client
	prefix string
}

// Options say which server and which key prefix to use.
type Options struct {
	// Addr is host:port, or a redis:// URL (with password and database).
	Addr string
	// Prefix starts every key Strata writes ("strata:" by default), so one server can hold several projects.
	Prefix string
	// PoolSize is the connection pool size (0 = go-redis's default, 10 per CPU).
	PoolSize int
}

// Open connects and checks the server answers.
func Open(ctx context.Context, o Options) (*Store, error) {
	var opt *goredis.Options
	if strings.Contains(o.Addr, "://") {
		var err error
		if opt, err = goredis.ParseURL(o.Addr); err != nil {
			return nil, fmt.Errorf("online.redis.addr: %v", err)
		}
	} else {
		opt = &goredis.Options{Addr: o.Addr}
	}
	opt.PoolSize = o.PoolSize
	if o.Prefix == "" {
		o.Prefix = "strata:"
	}
	c := goredis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("online store: Redis at %s does not answer: %v (start it, or set online.redis.addr)", opt.Addr, err)
	}
	return &Store{c: c, prefix: o.Prefix}, nil
}

func (s *Store) spacePrefix(space string) string { return s.prefix + "o:" + space + "\x00" }

// Upsert writes entries in one pipeline; each key is replaced only by a newer row (or an equal one, with
// replaceEqual).
func (s *Store) Upsert(ctx context.Context, space string, entries []record.Entry, replaceEqual bool) error {
	err := s.upsert(ctx, space, entries, replaceEqual)
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		if err = upsertScript.Load(ctx, s.c).Err(); err == nil {
			err = s.upsert(ctx, space, entries, replaceEqual)
		}
	}
	return err
}

func (s *Store) upsert(ctx context.Context, space string, entries []record.Entry, replaceEqual bool) error {
	p := s.spacePrefix(space)
	eq := "0"
	if replaceEqual {
		eq = "1"
	}
	_, err := s.c.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, e := range entries {
			upsertScript.EvalSha(ctx, pipe, []string{p + string(e.Key)}, e.Val, eq)
		}
		return nil
	})
	return err
}

// putBatch is how many keys one MSET sets: large enough that a million rows take a few hundred commands, small
// enough that one command does not block the server for long (about 1 MB at 10 float features).
const putBatch = 4096

// Put sets entries with plain MSETs (no script, no read), pipelined in one round trip.
func (s *Store) Put(ctx context.Context, space string, entries []record.Entry) error {
	p := s.spacePrefix(space)
	_, err := s.c.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for len(entries) > 0 {
			n := min(putBatch, len(entries))
			args := make([]any, 0, 2*n)
			for _, e := range entries[:n] {
				args = append(args, p+string(e.Key), e.Val)
			}
			pipe.MSet(ctx, args...)
			entries = entries[n:]
		}
		return nil
	})
	return err
}

// Lookup reads keys in one round trip (GET for one, MGET for many) and appends the values to dst; absent keys
// give nil.
func (s *Store) Lookup(ctx context.Context, space string, keys [][]byte, dst []byte) ([][]byte, []byte, error) {
	out := make([][]byte, len(keys))
	p := s.spacePrefix(space)
	if len(keys) == 0 {
		return out, dst, nil
	}
	if len(keys) == 1 {
		v, err := s.c.Get(ctx, p+string(keys[0])).Result()
		if errors.Is(err, goredis.Nil) {
			return out, dst, nil
		}
		if err != nil {
			return nil, dst, err
		}
		from := len(dst)
		dst = append(dst, v...)
		out[0] = dst[from:len(dst):len(dst)]
		return out, dst, nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = p + string(k)
	}
	vals, err := s.c.MGet(ctx, names...).Result()
	if err != nil {
		return nil, dst, err
	}
	ends := make([]int, len(vals))
	from := len(dst)
	for i, v := range vals {
		ends[i] = -1
		if str, ok := v.(string); ok {
			dst = append(dst, str...)
			ends[i] = len(dst)
		}
	}
	start := from
	for i, end := range ends {
		if end >= 0 {
			out[i] = dst[start:end:end]
			start = end
		}
	}
	return out, dst, nil
}

// Scan calls fn with the space's rows in batches.
func (s *Store) Scan(ctx context.Context, space string, fn func([]record.Entry) error) error {
	p := s.spacePrefix(space)
	return s.scanKeys(ctx, p, func(names []string) error {
		vals, err := s.c.MGet(ctx, names...).Result()
		if err != nil {
			return err
		}
		batch := make([]record.Entry, 0, len(names))
		for i, v := range vals {
			if str, ok := v.(string); ok {
				batch = append(batch, record.Entry{Key: []byte(strings.TrimPrefix(names[i], p)), Val: []byte(str)})
			}
		}
		return fn(batch)
	})
}

func (s *Store) scanKeys(ctx context.Context, prefix string, fn func([]string) error) error {
	var cursor uint64
	for {
		names, next, err := s.c.Scan(ctx, cursor, globEscape(prefix)+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(names) > 0 {
			if err := fn(names); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// PutSchema stores a schema under its id.
func (s *Store) PutSchema(ctx context.Context, id [8]byte, enc []byte) error {
	return s.c.SetNX(ctx, s.prefix+"schema:"+string(id[:]), enc, 0).Err()
}

// Schema returns a stored schema, nil when absent.
func (s *Store) Schema(ctx context.Context, id [8]byte) ([]byte, error) {
	v, err := s.c.Get(ctx, s.prefix+"schema:"+string(id[:])).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	return v, err
}

func (s *Store) lastKey(space string) string { return s.prefix + "last:" + space }

// MarkEvent raises the space's latest event time.
func (s *Store) MarkEvent(ctx context.Context, space string, us int64) error {
	return markScript.Run(ctx, s.c, []string{s.lastKey(space)}, us).Err()
}

// LastEvent reads the space's latest event time.
func (s *Store) LastEvent(ctx context.Context, space string) (int64, bool, error) {
	us, err := s.c.Get(ctx, s.lastKey(space)).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, false, nil
	}
	return us, err == nil, err
}

// DeleteSpace unlinks every key of the space and its latest event time.
func (s *Store) DeleteSpace(ctx context.Context, space string) error {
	if err := s.c.Unlink(ctx, s.lastKey(space)).Err(); err != nil {
		return err
	}
	return s.scanKeys(ctx, s.spacePrefix(space), func(names []string) error { return s.c.Unlink(ctx, names...).Err() })
}

func (s *Store) pointerKey(name string) string { return s.prefix + "ptr:" + name }

// Pointer returns a pointer record, nil when absent.
func (s *Store) Pointer(ctx context.Context, name string) ([]byte, error) {
	v, err := s.c.Get(ctx, s.pointerKey(name)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	return v, err
}

// SwapPointer sets a pointer record if it holds old (nil: absent), atomically in the server.
func (s *Store) SwapPointer(ctx context.Context, name string, old, val []byte) (bool, error) {
	has := "0"
	if old != nil {
		has = "1"
	}
	n, err := swapScript.Run(ctx, s.c, []string{s.pointerKey(name)}, has, old, val).Int()
	return n == 1, err
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.c.Close() }
