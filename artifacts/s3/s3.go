// Package s3 stores artifacts in an S3-compatible object store (AWS S3, MinIO, ...) through minio-go.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/strata-data/strata/artifacts"
)

// Store keeps artifacts as objects under a bucket prefix.
type Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

var _ artifacts.Store = (*Store)(nil)

// Options configure a store.
type Options struct {
	Endpoint  string // host:port or http(s)://host:port; empty = s3.amazonaws.com
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
	Prefix    string
}

// New connects to the object store. The bucket must exist.
func New(o Options) (*Store, error) {
	secure := true
	endpoint := o.Endpoint
	switch {
	case endpoint == "":
		endpoint = "s3.amazonaws.com"
	case strings.HasPrefix(endpoint, "http://"):
		secure, endpoint = false, strings.TrimPrefix(endpoint, "http://")
	case strings.HasPrefix(endpoint, "https://"):
		endpoint = strings.TrimPrefix(endpoint, "https://")
	}
	client, err := minio.New(strings.TrimSuffix(endpoint, "/"), &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       secure,
		Region:       o.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 artifact store: %w", err)
	}
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &Store{client: client, bucket: o.Bucket, prefix: prefix}, nil
}

// FromURI builds options from s3://bucket/prefix?endpoint=...&region=... with credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
func FromURI(uri string) (Options, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Options{}, fmt.Errorf("invalid S3 artifact URI %q: want s3://bucket/prefix?endpoint=http://host:port&region=REGION", uri)
	}
	q := u.Query()
	return Options{Endpoint: q.Get("endpoint"), Region: q.Get("region"), Bucket: u.Host, Prefix: u.Path,
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}, nil
}

func (s *Store) key(p string) (string, error) {
	c, err := artifacts.CleanPath(p)
	if err != nil {
		return "", err
	}
	return s.prefix + c, nil
}

// Put uploads an object. With an unknown size the body is spooled to a temporary file first, so the upload
// carries a real Content-Length (streaming signatures are not understood by every S3 implementation).
func (s *Store) Put(ctx context.Context, p string, r io.Reader, size int64) error {
	key, err := s.key(p)
	if err != nil {
		return err
	}
	if size < 0 {
		f, err := os.CreateTemp("", "strata-artifact-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if size, err = io.Copy(f, r); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r = f
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

// Get downloads an object.
func (s *Store) Get(ctx context.Context, p string) (io.ReadCloser, error) {
	key, err := s.key(p)
	if err != nil {
		return nil, err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s", artifacts.ErrNotFound, p)
		}
		return nil, err
	}
	return s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
}

func isNotFound(err error) bool {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode == 404 || resp.Code == "NoSuchKey"
	}
	return false
}

// List lists the objects and common prefixes one level under dir.
func (s *Store) List(ctx context.Context, dir string) ([]artifacts.Entry, error) {
	key, err := s.key(dir)
	if err != nil {
		return nil, err
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	var out []artifacts.Entry
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		name := strings.TrimPrefix(obj.Key, key)
		if name == "" {
			continue
		}
		if strings.HasSuffix(name, "/") {
			out = append(out, artifacts.Entry{Path: strings.TrimSuffix(name, "/"), IsDir: true})
			continue
		}
		out = append(out, artifacts.Entry{Path: name, Size: obj.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Delete removes an object and every object under it as a directory.
func (s *Store) Delete(ctx context.Context, p string) error {
	key, err := s.key(p)
	if err != nil {
		return err
	}
	if key == "" || key == s.prefix {
		return fmt.Errorf("%w: refusing to delete the artifact root", artifacts.ErrInvalidPath)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return err
	}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key + "/", Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		if err := s.client.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}
