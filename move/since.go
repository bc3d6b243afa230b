package move

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// errNothingNew is an incremental source with nothing past its watermark: the run succeeds without writing.
var errNothingNew = errors.New("nothing new")

// filesSince keeps the files past the watermark and returns them with the new watermark; errNothingNew when
// none is left. By "name": names that sort after the watermark (the last name read). By "modified": local
// files modified after the watermark, "<RFC 3339 time> <name>" of the last one read (the name breaks ties
// between equal times), read in order of modification.
func filesSince(list []string, by, watermark string) ([]string, string, error) {
	switch by {
	case "name":
		var out []string
		for _, f := range list {
			if f > watermark {
				out = append(out, f)
			}
		}
		if len(out) == 0 {
			return nil, "", errNothingNew
		}
		sort.Strings(out)
		return out, out[len(out)-1], nil
	case "modified":
		type file struct {
			name string
			key  string
		}
		var out []file
		for _, f := range list {
			if strings.HasPrefix(f, "s3://") {
				return nil, "", fmt.Errorf("%w: incremental by: modified is for local files; use by: name for objects", ErrInvalid)
			}
			fi, err := os.Stat(f)
			if err != nil {
				return nil, "", err
			}
			key := fi.ModTime().UTC().Format("2006-01-02T15:04:05.000000000Z") + " " + f
			if key > watermark {
				out = append(out, file{f, key})
			}
		}
		if len(out) == 0 {
			return nil, "", errNothingNew
		}
		sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
		names := make([]string, len(out))
		for i, f := range out {
			names[i] = f.name
		}
		return names, out[len(out)-1].key, nil
	}
	return nil, "", fmt.Errorf("%w: incremental by %q", ErrInvalid, by)
}
