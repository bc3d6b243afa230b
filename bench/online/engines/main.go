// Command engines compares the two embedded key-value engines considered for Strata's embedded online store,
// bbolt and Pebble, on the store's own value layout (online/record: one packed value of 50 float features per
// entity): bulk upsert with "newer wins", 1-entity and 100-entity lookups. It is a separate module so that
// Pebble never enters Strata's dependencies. Run: cd bench/online/engines && go run . -entities 200000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/strata-data/strata/online/record"
)

type engine interface {
	upsert(entries []record.Entry) error
	lookup(keys [][]byte) ([][]byte, error)
	close() error
}

type boltEngine struct{ db *bolt.DB }

var bucket = []byte("dev/v")

func (e *boltEngine) upsert(entries []record.Entry) error {
	return e.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		for _, en := range entries {
			if old := b.Get(en.Key); old != nil && !record.Newer(en.Val, old) {
				continue
			}
			if err := b.Put(en.Key, en.Val); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *boltEngine) lookup(keys [][]byte) ([][]byte, error) {
	out := make([][]byte, len(keys))
	err := e.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for i, k := range keys {
			out[i] = bytes.Clone(b.Get(k))
		}
		return nil
	})
	return out, err
}

func (e *boltEngine) close() error { return e.db.Close() }

type pebbleEngine struct{ db *pebble.DB }

func (e *pebbleEngine) upsert(entries []record.Entry) error {
	b := e.db.NewIndexedBatch()
	for _, en := range entries {
		k := append(append([]byte(nil), bucket...), en.Key...)
		old, closer, err := b.Get(k)
		if err == nil {
			newer := record.Newer(en.Val, old)
			_ = closer.Close()
			if !newer {
				continue
			}
		}
		if err := b.Set(k, en.Val, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func (e *pebbleEngine) lookup(keys [][]byte) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, closer, err := e.db.Get(append(append([]byte(nil), bucket...), k...))
		if err == pebble.ErrNotFound {
			continue
		} else if err != nil {
			return nil, err
		}
		out[i] = bytes.Clone(v)
		_ = closer.Close()
	}
	return out, nil
}

func (e *pebbleEngine) close() error { return e.db.Close() }

func main() {
	n := flag.Int("entities", 200000, "entities written")
	ops := flag.Int("ops", 200000, "lookups per measurement")
	flag.Parse()
	dir, err := os.MkdirTemp("", "online-engines")
	check(err)
	defer os.RemoveAll(dir)
	fields := make([]record.Field, 50)
	for i := range fields {
		fields[i] = record.Field{Name: fmt.Sprintf("f%02d", i), Kind: record.Float64}
	}
	sc := record.NewSchema(fields)
	entries := make([]record.Entry, *n)
	vals := make([]record.Value, 50)
	for i := range entries {
		for j := range vals {
			vals[j] = record.FloatValue(rand.Float64())
		}
		entries[i] = record.Entry{Key: record.Key(nil, []record.Value{record.IntValue(int64(i))}),
			Val: record.Encode(nil, sc, time.Now().UnixMicro(), 0, false, vals)}
	}
	bdb, err := bolt.Open(filepath.Join(dir, "bolt.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	check(err)
	pdb, err := pebble.Open(filepath.Join(dir, "pebble"), &pebble.Options{})
	check(err)
	fmt.Printf("%d entities × 50 float features (%d-byte values), %d lookups per line\n", *n, len(entries[0].Val), *ops)
	fmt.Printf("%-7s %14s %16s %16s %16s %16s\n", "engine", "write rows/s", "1×50 p50 µs", "1×50 p99 µs", "100×50 p50 µs", "100×50 p99 µs")
	for _, e := range []struct {
		name string
		eng  engine
	}{{"bbolt", &boltEngine{bdb}}, {"pebble", &pebbleEngine{pdb}}} {
		start := time.Now()
		for i := 0; i < len(entries); i += 4096 {
			check(e.eng.upsert(entries[i:min(i+4096, len(entries))]))
		}
		rate := float64(len(entries)) / time.Since(start).Seconds()
		p50a, p99a := measure(e.eng, *n, 1, *ops)
		p50b, p99b := measure(e.eng, *n, 100, *ops/100)
		fmt.Printf("%-7s %14.0f %16.2f %16.2f %16.1f %16.1f\n", e.name, rate, p50a, p99a, p50b, p99b)
		check(e.eng.close())
	}
}

func measure(e engine, n, batch, ops int) (p50, p99 float64) {
	lat := make([]float64, ops)
	keys := make([][]byte, batch)
	for i := range lat {
		for j := range keys {
			keys[j] = record.Key(nil, []record.Value{record.IntValue(int64(rand.IntN(n)))})
		}
		t := time.Now()
		_, err := e.lookup(keys)
		check(err)
		lat[i] = float64(time.Since(t).Nanoseconds()) / 1000
	}
	sort.Float64s(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
