package mlflowapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/strata-data/strata/artifacts"
)

// errInvalidPath is MLflow's exact answer to a path-traversal attempt.
var errInvalidPath = invalidf("Invalid path")

// CleanPath cleans a relative artifact path; a path that escapes its root is MLflow's 400 "Invalid path".
func CleanPath(p string) (string, error) {
	c, err := artifacts.CleanPath(p)
	if err != nil {
		return "", errInvalidPath
	}
	return c, nil
}

// ArtifactError gives an artifact store's error MLflow's answer: a traversal is "Invalid path"; anything else
// keeps its kind (a missing file is RESOURCE_DOES_NOT_EXIST).
func ArtifactError(err error) error {
	if errors.Is(err, artifacts.ErrInvalidPath) {
		return errInvalidPath
	}
	return err
}

// StorePath maps an mlflow-artifacts:/ URI (as handed out in artifact_uri / artifact_location) to a path in
// the artifact store. Other URIs are not served by this server.
func StorePath(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "mlflow-artifacts:")
	if !ok {
		return "", false
	}
	if strings.HasPrefix(rest, "//") { // mlflow-artifacts://host:port/path
		rest = rest[2:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
	}
	return strings.TrimLeft(rest, "/"), true
}

// SendArtifact streams a stored file with MLflow's download headers (attachment, nosniff, MIME type from the
// name); a missing file is a 404 RESOURCE_DOES_NOT_EXIST.
func (a *API) SendArtifact(w http.ResponseWriter, r *http.Request, arts artifacts.Store, p string) {
	rc, err := arts.Get(r.Context(), p)
	if err != nil {
		a.WriteError(w, r, ArtifactError(err))
		return
	}
	defer rc.Close()
	name := path.Base(p)
	w.Header().Set("Content-Type", contentType(name))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.Copy(w, rc)
}

// contentType guesses a MIME type from the file name the way MLflow does (text for MLmodel and friends).
func contentType(name string) string {
	switch name {
	case "MLmodel", "MLproject", "requirements.txt", "conda.yaml", "python_env.yaml":
		return "text/plain"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	switch path.Ext(name) {
	case ".yaml", ".yml", ".txt", ".log", ".md", ".py":
		return "text/plain"
	}
	return "application/octet-stream"
}

// CleanFilePath is CleanPath for a path that must name a file: an empty path is "Invalid path" too.
func CleanFilePath(p string) (string, error) {
	c, err := CleanPath(p)
	if err != nil || c == "" {
		return "", errInvalidPath
	}
	return c, nil
}
