package online

import (
	"context"
	"fmt"

	"github.com/strata-data/strata/online/embedded"
	"github.com/strata-data/strata/online/redis"
)

// Options choose and configure the backend (config keys online.*).
type Options struct {
	// Backend is "embedded" (default: a file on local disk) or "redis".
	Backend string
	// Path is the embedded store's file.
	Path string
	// CacheBytes bounds the embedded store's cache of rows read: 0 is embedded.DefaultCacheBytes (the
	// configuration's default), a negative value turns the cache off.
	CacheBytes int64
	// RedisAddr is host:port or a redis:// URL; RedisPrefix starts every key.
	RedisAddr, RedisPrefix string
}

// embeddedCacheBytes is the size of the embedded store's cache: the default for 0, none for a negative value.
func (o Options) embeddedCacheBytes() int64 {
	switch {
	case o.CacheBytes == 0:
		return embedded.DefaultCacheBytes
	case o.CacheBytes < 0:
		return 0
	}
	return o.CacheBytes
}

// Open opens the configured store.
func Open(ctx context.Context, o Options) (Store, error) {
	switch o.Backend {
	case "", "embedded":
		if o.Path == "" {
			return nil, fmt.Errorf("online.path: the embedded online store needs a file path: %w", ErrInvalid)
		}
		b, err := embedded.OpenCache(o.Path, o.embeddedCacheBytes())
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrUnavailable)
		}
		return New(b), nil
	case "redis":
		b, err := redis.Open(ctx, redis.Options{Addr: o.RedisAddr, Prefix: o.RedisPrefix})
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrUnavailable)
		}
		return New(b), nil
	}
	return nil, fmt.Errorf("online.backend %q: use embedded or redis: %w", o.Backend, ErrInvalid)
}
