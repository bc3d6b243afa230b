// Package backends opens the artifact store named by a URI. It is separate from package artifacts so that the
// backends can import the interface they implement.
package backends

import (
	"context"
	"net/url"
	"strings"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/artifacts/local"
	"github.com/strata-data/strata/artifacts/s3"
)

// Open returns the store for uri: "s3://bucket/prefix?endpoint=http://host:port&region=R" (credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), "file:///dir", or a plain directory path.
func Open(_ context.Context, uri string) (artifacts.Store, error) {
	switch {
	case strings.HasPrefix(uri, "s3://"):
		o, err := s3.FromURI(uri)
		if err != nil {
			return nil, err
		}
		return s3.New(o)
	case strings.HasPrefix(uri, "file://"):
		u, err := url.Parse(uri)
		if err != nil {
			return nil, err
		}
		return local.New(u.Path)
	}
	return local.New(uri)
}
