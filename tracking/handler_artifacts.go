package tracking

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts"
)

const artifactsPrefix = "/api/2.0/mlflow-artifacts"

func (h *Handler) artifactRoutes(r chi.Router) {
	r.Get(artifactsPrefix+"/artifacts", h.proxyList)
	r.Get(artifactsPrefix+"/artifacts/*", h.proxyDownload)
	r.Put(artifactsPrefix+"/artifacts/*", h.proxyUpload)
	r.Delete(artifactsPrefix+"/artifacts/*", h.proxyDelete)
	for _, op := range []string{"create", "complete", "abort"} {
		r.Post(artifactsPrefix+"/mpu/"+op+"/*", func(w http.ResponseWriter, r *http.Request) {
			WriteError(w, r, Errorf(ErrNotImplemented, "Multipart upload is not supported for the current artifact repository"))
		})
	}
	Mount(r, "/artifacts/list", h.listRunArtifacts, get)
	r.Get("/get-artifact", h.getRunArtifact)
	r.Get("/ajax-api/2.0/mlflow/get-artifact", h.getRunArtifact)
}

// errInvalidPath is MLflow's exact answer to a path-traversal attempt.
var errInvalidPath = invalidf("Invalid path")

func cleanOrError(p string) (string, error) {
	c, err := artifacts.CleanPath(p)
	if err != nil {
		return "", errInvalidPath
	}
	return c, nil
}

func artifactError(err error) error {
	switch {
	case errors.Is(err, artifacts.ErrInvalidPath):
		return errInvalidPath
	case errors.Is(err, artifacts.ErrNotFound):
		return notFoundf("%v", err)
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

type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

func toFileInfos(entries []artifacts.Entry, prefix string) []fileInfo {
	out := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		fi := fileInfo{Path: path.Join(prefix, e.Path), IsDir: e.IsDir}
		if !e.IsDir {
			size := e.Size
			fi.FileSize = &size
		}
		out = append(out, fi)
	}
	return out
}

func (h *Handler) proxyList(w http.ResponseWriter, r *http.Request) {
	p, err := cleanOrError(r.URL.Query().Get("path"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	entries, err := h.arts.List(r.Context(), p)
	if err != nil {
		WriteError(w, r, artifactError(err))
		return
	}
	if len(entries) == 0 {
		WriteJSON(w, struct{}{})
		return
	}
	WriteJSON(w, map[string]any{"files": toFileInfos(entries, "")})
}

func wildcardPath(r *http.Request) (string, error) {
	p := chi.URLParam(r, "*")
	if p == "" {
		return "", errInvalidPath
	}
	return cleanOrError(p)
}

func (h *Handler) proxyDownload(w http.ResponseWriter, r *http.Request) {
	p, err := wildcardPath(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	h.sendFile(w, r, p)
}

func (h *Handler) sendFile(w http.ResponseWriter, r *http.Request, p string) {
	SendArtifact(w, r, h.arts, p)
}

// SendArtifact streams a stored file with MLflow's download headers (attachment, nosniff, MIME type from the
// name); a missing file is a 404 RESOURCE_DOES_NOT_EXIST.
func SendArtifact(w http.ResponseWriter, r *http.Request, arts artifacts.Store, p string) {
	rc, err := arts.Get(r.Context(), p)
	if err != nil {
		WriteError(w, r, artifactError(err))
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

func (h *Handler) proxyUpload(w http.ResponseWriter, r *http.Request) {
	p, err := wildcardPath(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := h.arts.Put(r.Context(), p, r.Body, r.ContentLength); err != nil {
		WriteError(w, r, artifactError(err))
		return
	}
	WriteJSON(w, struct{}{})
}

func (h *Handler) proxyDelete(w http.ResponseWriter, r *http.Request) {
	p, err := wildcardPath(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := h.arts.Delete(r.Context(), p); err != nil {
		WriteError(w, r, artifactError(err))
		return
	}
	WriteJSON(w, struct{}{})
}

// listUnder lists root/sub where root is an mlflow-artifacts URI, answering MLflow's ListArtifacts shape
// (paths relative to root).
func (h *Handler) listUnder(r *http.Request, root, sub string) (any, error) {
	sub, err := cleanOrError(sub)
	if err != nil {
		return nil, err
	}
	base, ok := StorePath(root)
	if !ok {
		return nil, invalidf("Artifacts at %s are not served by this server", root)
	}
	entries, err := h.arts.List(r.Context(), path.Join(base, sub))
	if err != nil {
		return nil, artifactError(err)
	}
	return struct {
		RootURI string     `json:"root_uri"`
		Files   []fileInfo `json:"files,omitempty"`
	}{root, toFileInfos(entries, sub)}, nil
}

func (h *Handler) downloadUnder(w http.ResponseWriter, r *http.Request, root, sub string) {
	sub, err := cleanOrError(sub)
	if err != nil || sub == "" {
		WriteError(w, r, errInvalidPath)
		return
	}
	base, ok := StorePath(root)
	if !ok {
		WriteError(w, r, invalidf("Artifacts at %s are not served by this server", root))
		return
	}
	h.sendFile(w, r, path.Join(base, sub))
}

func (h *Handler) listRunArtifacts(r *http.Request, req *Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	sub, err := req.String("path")
	if err != nil {
		return nil, err
	}
	if _, err := cleanOrError(sub); err != nil {
		return nil, err
	}
	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return h.listUnder(r, run.Info.ArtifactURI, sub)
}

func (h *Handler) getRunArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("run_id")
	if id == "" {
		id = q.Get("run_uuid")
	}
	if _, err := cleanOrError(q.Get("path")); err != nil {
		WriteError(w, r, err)
		return
	}
	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	h.downloadUnder(w, r, run.Info.ArtifactURI, q.Get("path"))
}
