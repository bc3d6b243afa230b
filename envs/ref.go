package envs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/strata-data/strata/lake"
)

// timeLayouts are the time formats every reader (CLI --as-of, HTTP as_of, later SQL) accepts, in order.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// ParseTime parses a time-travel instant: RFC 3339, or a date or date-time without zone (read as UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: %w: use RFC 3339 (2026-11-25T10:00:00Z) or a date (2026-11-25)", s, ErrInvalid)
}

// ParseSnapshotRef parses the two time-travel selectors every reader offers, a snapshot id and an instant;
// both empty is the environment's default view. Giving both is an error.
func ParseSnapshotRef(snapshot, asOf string) (lake.SnapshotRef, error) {
	var ref lake.SnapshotRef
	if snapshot = strings.TrimSpace(snapshot); snapshot != "" {
		id, err := strconv.ParseInt(snapshot, 10, 64)
		if err != nil || id <= 0 {
			return ref, fmt.Errorf("snapshot %q is not a snapshot id: %w: give the id of one of the table's snapshots (a positive number)", snapshot, ErrInvalid)
		}
		ref.ID = id
	}
	if asOf != "" {
		t, err := ParseTime(asOf)
		if err != nil {
			return ref, err
		}
		ref.AsOf = t
	}
	if ref.ID != 0 && !ref.AsOf.IsZero() {
		return ref, fmt.Errorf("a snapshot and a time were both given: %w: give one of them", ErrInvalid)
	}
	return ref, nil
}
