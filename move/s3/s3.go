//go:build duckdb_arrow

// Package s3 is the movement toolkit's S3-compatible object storage (AWS S3, MinIO, ...) through minio-go: a
// files source reads objects of s3://bucket/prefix (each fetched to a local copy, one at a time) and a files
// target writes objects there.
//
// The endpoint and credentials come from the environment, under the names AWS tools use:
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (e.g. http://127.0.0.1:9000; default AWS), AWS_REGION or
// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
package s3

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/move/files"
	"github.com/strata-data/strata/scratch"
)

// IsPath reports whether p names objects (s3://bucket/prefix).
func IsPath(p string) bool { return strings.HasPrefix(p, "s3://") }

// Bucket is a bucket and a key prefix of an S3-compatible store.
type Bucket struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
	glob   string // a pattern for the rest of the key ("" = every data file below prefix)
}

// Open connects to the store named by an s3://bucket/prefix path (a glob such as s3://b/in/*.csv is allowed:
// the part from the first folder holding a * ? or [ on is the pattern). lookup reads the environment.
func Open(p string, lookup func(string) (string, bool)) (*Bucket, error) {
	rest, ok := strings.CutPrefix(p, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return nil, errs.E(errs.Invalid, "%q is not an S3 path: write s3://bucket/prefix", p)
	}
	b := &Bucket{bucket: bucket}
	if i := strings.IndexAny(key, "*?["); i >= 0 {
		cut := strings.LastIndex(key[:i], "/") + 1
		key, b.glob = key[:cut], key[cut:]
	}
	if key = strings.Trim(key, "/"); key != "" {
		b.prefix = key + "/"
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := lookup(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	endpoint, secure := get("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), true
	switch {
	case endpoint == "":
		endpoint = "s3.amazonaws.com"
	case strings.HasPrefix(endpoint, "http://"):
		secure, endpoint = false, strings.TrimPrefix(endpoint, "http://")
	default:
		endpoint = strings.TrimPrefix(endpoint, "https://")
	}
	client, err := minio.New(strings.TrimSuffix(endpoint, "/"), &minio.Options{
		Creds:  credentials.NewStaticV4(get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), get("AWS_SESSION_TOKEN")),
		Secure: secure, Region: get("AWS_REGION", "AWS_DEFAULT_REGION"), BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, errs.E(errs.Invalid, "S3 endpoint %q: %v (set AWS_ENDPOINT_URL_S3 to http(s)://host:port)", endpoint, err)
	}
	b.client = client
	return b, nil
}

func (b *Bucket) url(key string) string { return "s3://" + b.bucket + "/" + key }

// Sources lists the objects a files source reads, sorted by key, as s3:// names: those matching the glob, or
// the data files (by extension) below the prefix. Naming nothing is a NotFound error.
func (b *Bucket) Sources(ctx context.Context) ([]string, error) {
	keys, err := b.keys(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		rel := strings.TrimPrefix(k, b.prefix)
		if b.glob != "" {
			if ok, _ := path.Match(b.glob, rel); !ok {
				continue
			}
		} else if strings.Contains(rel, "/") || !files.IsDataFile(rel) {
			continue
		}
		out = append(out, b.url(k))
	}
	if len(out) == 0 {
		return nil, errs.E(errs.NotFound, "files source: no object matches %s", b.url(b.prefix+b.glob))
	}
	return out, nil
}

// keys lists every key below the prefix.
func (b *Bucket) keys(ctx context.Context) ([]string, error) {
	var out []string
	for o := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, unavailable("list "+b.url(b.prefix), o.Err)
		}
		out = append(out, o.Key)
	}
	sort.Strings(out)
	return out, nil
}

// Fetch copies the object named (an s3:// name from Sources) to a local temporary file with the same base
// name (so its format is known by its extension), and returns it with a function that removes it.
func (b *Bucket) Fetch(ctx context.Context, name string) (string, func(), error) {
	key := strings.TrimPrefix(name, "s3://"+b.bucket+"/")
	dir, cleanup, err := scratch.MkdirTemp(os.TempDir(), "strata-s3-") // a killed run's is removed by the next
	if err != nil {
		return "", nil, err
	}
	local := filepath.Join(dir, path.Base(key))
	if err := b.client.FGetObject(ctx, b.bucket, key, local, minio.GetObjectOptions{}); err != nil {
		cleanup()
		return "", nil, unavailable("read "+name, err)
	}
	return local, cleanup, nil
}

func unavailable(what string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || resp.Code == "NoSuchBucket" {
		return errs.E(errs.Unavailable, "%s: it is gone (%s): was it removed while the job ran?", what, resp.Code)
	}
	return errs.E(errs.Unavailable, "%s: %v", what, err)
}

// Create starts an object below the prefix; it is uploaded on Commit (so an aborted or killed write leaves no
// object), from a local spool file that gives the upload its length.
func (b *Bucket) Create(ctx context.Context, name string) (files.Upload, error) {
	dir, done, err := scratch.MkdirTemp(os.TempDir(), "strata-s3-upload-")
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "spool"))
	if err != nil {
		done()
		return nil, err
	}
	return &upload{File: f, ctx: ctx, b: b, key: b.prefix + name, done: done}, nil
}

// Folder reports whether the path names a prefix (a folder) rather than a glob.
func (b *Bucket) Folder() bool { return b.glob == "" }

// URL is the s3:// name of name, a path relative to the prefix (as List returns them).
func (b *Bucket) URL(name string) string { return b.url(b.prefix + name) }

// Open reads an object below the prefix.
func (b *Bucket) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	o, err := b.client.GetObject(ctx, b.bucket, b.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, unavailable("read "+b.url(b.prefix+name), err)
	}
	if _, err := o.Stat(); err != nil {
		_ = o.Close()
		return nil, unavailable("read "+b.url(b.prefix+name), err)
	}
	return o, nil
}

// Remove deletes an object below the prefix.
func (b *Bucket) Remove(ctx context.Context, name string) error {
	if err := b.client.RemoveObject(ctx, b.bucket, b.prefix+name, minio.RemoveObjectOptions{}); err != nil {
		return unavailable("remove "+b.url(b.prefix+name), err)
	}
	return nil
}

// List returns every object below the prefix, relative to it.
func (b *Bucket) List(ctx context.Context) ([]string, error) {
	keys, err := b.keys(ctx)
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, b.prefix)
	}
	return keys, err
}

type upload struct {
	*os.File
	ctx  context.Context
	b    *Bucket
	key  string
	done func() // removes the spool file's scratch folder
}

func (u *upload) Commit() error {
	defer u.done()
	defer u.File.Close()
	size, err := u.File.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := u.File.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := u.b.client.PutObject(u.ctx, u.b.bucket, u.key, u.File, size, minio.PutObjectOptions{}); err != nil {
		return unavailable(fmt.Sprintf("write %s", u.b.url(u.key)), err)
	}
	return nil
}

func (u *upload) Abort() {
	_ = u.File.Close()
	u.done()
}
