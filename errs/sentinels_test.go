package errs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lakesql"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/mlflowapi"
	"github.com/strata-data/strata/move"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/rowfmt"
	"github.com/strata-data/strata/sqlwire"
	"github.com/strata-data/strata/tracking"
)

// sentinels lists every exported sentinel error of the domain packages by "dir.Name". A package that adds one
// adds it here; TestEverySentinelHasAKind fails until it does, so no protocol mapper can meet an error it cannot
// map.
var sentinels = map[string]error{
	"artifacts.ErrNotFound":      artifacts.ErrNotFound,
	"artifacts.ErrInvalidPath":   artifacts.ErrInvalidPath,
	"auth.ErrInvalid":            auth.ErrInvalid,
	"auth.ErrNotFound":           auth.ErrNotFound,
	"auth.ErrExists":             auth.ErrExists,
	"auth.ErrAuthFailed":         auth.ErrAuthFailed,
	"config.ErrInvalid":          config.ErrInvalid,
	"engine.ErrInvalid":          engine.ErrInvalid,
	"engine.ErrNotFound":         engine.ErrNotFound,
	"engine.ErrClosed":           engine.ErrClosed,
	"engine.ErrBadData":          engine.ErrBadData,
	"engine.ErrUnsupported":      engine.ErrUnsupported,
	"envs.ErrNotFound":           envs.ErrNotFound,
	"features.ErrInvalid":        features.ErrInvalid,
	"features.ErrNotFound":       features.ErrNotFound,
	"feastapi.ErrInvalid":        feastapi.ErrInvalid,
	"feastapi.ErrTooLarge":       feastapi.ErrTooLarge,
	"online.ErrInvalid":          online.ErrInvalid,
	"online.ErrUnavailable":      online.ErrUnavailable,
	"envs.ErrInvalid":            envs.ErrInvalid,
	"envs.ErrForbidden":          envs.ErrForbidden,
	"lakesql.ErrReadOnlyEnv":     lakesql.ErrReadOnlyEnv,
	"lakesql.ErrInvalid":         lakesql.ErrInvalid,
	"lakesql.ErrExists":          lakesql.ErrExists,
	"lakesql.ErrNotFound":        lakesql.ErrNotFound,
	"lakesql.ErrUnsupported":     lakesql.ErrUnsupported,
	"lakesql.ErrNotOneRead":      lakesql.ErrNotOneRead,
	"envs.ErrConflict":           envs.ErrConflict,
	"envs.ErrSchemaMismatch":     envs.ErrSchemaMismatch,
	"envs.ErrNothingToPublish":   envs.ErrNothingToPublish,
	"lake.ErrNotFound":           lake.ErrNotFound,
	"lake.ErrExists":             lake.ErrExists,
	"lake.ErrInvalid":            lake.ErrInvalid,
	"lake.ErrConflict":           lake.ErrConflict,
	"mlflowapi.ErrInvalid":       mlflowapi.ErrInvalid,
	"move.ErrInvalid":            move.ErrInvalid,
	"move.ErrNotFound":           move.ErrNotFound,
	"mlflowapi.ErrMalformed":     mlflowapi.ErrMalformed,
	"meta.ErrInvalid":            meta.ErrInvalid,
	"meta.ErrNotFound":           meta.ErrNotFound,
	"meta.ErrConflict":           meta.ErrConflict,
	"registry.ErrNotFound":       registry.ErrNotFound,
	"registry.ErrExists":         registry.ErrExists,
	"registry.ErrInvalid":        registry.ErrInvalid,
	"rowfmt.ErrInvalid":          rowfmt.ErrInvalid,
	"sqlwire.ErrReadOnly":        sqlwire.ErrReadOnly,
	"sqlwire.ErrUnsupported":     sqlwire.ErrUnsupported,
	"sqlwire.ErrInvalid":         sqlwire.ErrInvalid,
	"sqlwire.ErrReadOnlyEnv":     sqlwire.ErrReadOnlyEnv,
	"tracking.ErrNotFound":       tracking.ErrNotFound,
	"tracking.ErrAlreadyExists":  tracking.ErrAlreadyExists,
	"tracking.ErrInvalid":        tracking.ErrInvalid,
	"tracking.ErrNotImplemented": tracking.ErrNotImplemented,
}

var sentinelName = regexp.MustCompile(`^Err[A-Z]`)

// TestEverySentinelHasAKind walks the repository's Go sources for exported package-level Err* variables and
// checks that each is listed above and wraps a kind.
func TestEverySentinelHasAKind(t *testing.T) {
	t.Parallel()
	found := declaredSentinels(t, "..")
	require.NotEmpty(t, found)
	var missing []string
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			missing = append(missing, name)
		}
	}
	require.Empty(t, missing, "exported sentinels not listed in errs/sentinels_test.go: declare them with errs.New and list them")
	for name, err := range sentinels {
		require.Contains(t, found, name, "listed sentinel %s is no longer declared: remove it from the list", name)
		require.NotEqual(t, errs.Internal, errs.KindOf(err), "%s wraps no kind: declare it with errs.New(kind, ...)", name)
	}
}

// declaredSentinels returns "dir.Name" for every exported Err* var declared at package level in non-test files
// under root (a package's directory path relative to root, with / replaced by .).
func declaredSentinels(t *testing.T, root string) []string {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "internal" || n == "errs") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" || strings.HasSuffix(f.Name.Name, "test") { // commands; conformance-suite helpers
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := strings.ReplaceAll(filepath.ToSlash(rel), "/", ".")
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if sentinelName.MatchString(n.Name) {
						out = append(out, pkg+"."+n.Name)
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}
