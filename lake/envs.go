package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// EnsureEnv creates environment env with the default zones if it or any of them is missing. It is idempotent
// and safe to call concurrently from several processes. Each zone gets a "location" namespace property
// (<warehouse>/<env>/<zone>), so tables that Spark or PyIceberg create there land in the same tree.
func (l *Lake) EnsureEnv(ctx context.Context, env string) error {
	c, err := l.catalogFor(env)
	if err != nil {
		return err
	}
	for _, zone := range defaultZones {
		if err := os.MkdirAll(l.zoneDir(env, zone), 0o755); err != nil {
			return fmt.Errorf("create the directory of zone %q in environment %q: %w", zone, env, err)
		}
		ok, err := l.zoneExists(ctx, env, zone)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		err = c.CreateNamespace(ctx, table.Identifier{zone}, iceberg.Properties{"location": fileURL(l.zoneDir(env, zone))})
		if err != nil && !errors.Is(err, icecat.ErrNamespaceAlreadyExists) {
			return fmt.Errorf("create zone %q in environment %q: %w", zone, env, err)
		}
	}
	return nil
}

// Zones lists env's zones (Iceberg namespaces), the default zones first in lake order, then any others sorted.
func (l *Lake) Zones(ctx context.Context, env string) ([]string, error) {
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return nil, err
	}
	nss, err := c.ListNamespaces(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list zones of environment %q: %w", env, err)
	}
	present := map[string]bool{}
	for _, ns := range nss {
		present[strings.Join(ns, ".")] = true
	}
	var zones, others []string
	for _, z := range defaultZones {
		if present[z] {
			zones = append(zones, z)
			delete(present, z)
		}
	}
	for z := range present {
		others = append(others, z)
	}
	sort.Strings(others)
	return append(zones, others...), nil
}
