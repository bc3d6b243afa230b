package tracking

import (
	"net/http"
	"path"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/mlflowapi"
)

const artifactsPrefix = "/api/2.0/mlflow-artifacts"

func (h *Handler) artifactRoutes(r chi.Router) {
	r.Get(artifactsPrefix+"/artifacts", h.proxyList)
	r.Get(artifactsPrefix+"/artifacts/*", h.proxyDownload)
	r.Put(artifactsPrefix+"/artifacts/*", h.proxyUpload)
	r.Delete(artifactsPrefix+"/artifacts/*", h.proxyDelete)
	for _, op := range []string{"create", "complete", "abort"} {
		r.Post(artifactsPrefix+"/mpu/"+op+"/*", func(w http.ResponseWriter, r *http.Request) {
			h.api.WriteError(w, r, mlflowapi.Errorf(ErrNotImplemented, "Multipart upload is not supported for the current artifact repository"))
		})
	}
	h.api.Mount(r, "/artifacts/list", h.listRunArtifacts, get)
	r.Get("/get-artifact", h.getRunArtifact)
	r.Get("/ajax-api/2.0/mlflow/get-artifact", h.getRunArtifact)
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
	p, err := mlflowapi.CleanPath(r.URL.Query().Get("path"))
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	entries, err := h.arts.List(r.Context(), p)
	if err != nil {
		h.api.WriteError(w, r, mlflowapi.ArtifactError(err))
		return
	}
	if len(entries) == 0 {
		mlflowapi.WriteJSON(w, struct{}{})
		return
	}
	mlflowapi.WriteJSON(w, map[string]any{"files": toFileInfos(entries, "")})
}

func wildcardPath(r *http.Request) (string, error) {
	return mlflowapi.CleanFilePath(chi.URLParam(r, "*"))
}

func (h *Handler) proxyDownload(w http.ResponseWriter, r *http.Request) {
	p, err := wildcardPath(r)
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	h.api.SendArtifact(w, r, h.arts, p)
}

func (h *Handler) proxyUpload(w http.ResponseWriter, r *http.Request) {
	p, err := wildcardPath(r)
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	if err := h.arts.Put(r.Context(), p, r.Body, r.ContentLength); err != nil {
		h.api.WriteError(w, r, mlflowapi.ArtifactError(err))
		return
	}
	mlflowapi.WriteJSON(w, struct{}{})
}

func (h *Handler) proxyDelete(w http.ResponseWriter, r *http.Request) {
	p, err := wildcardPath(r)
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	if err := h.arts.Delete(r.Context(), p); err != nil {
		h.api.WriteError(w, r, mlflowapi.ArtifactError(err))
		return
	}
	mlflowapi.WriteJSON(w, struct{}{})
}

// listUnder lists root/sub where root is an mlflow-artifacts URI, answering MLflow's ListArtifacts shape
// (paths relative to root).
func (h *Handler) listUnder(r *http.Request, root, sub string) (any, error) {
	sub, err := mlflowapi.CleanPath(sub)
	if err != nil {
		return nil, err
	}
	base, ok := mlflowapi.StorePath(root)
	if !ok {
		return nil, invalidf("Artifacts at %s are not served by this server", root)
	}
	entries, err := h.arts.List(r.Context(), path.Join(base, sub))
	if err != nil {
		return nil, mlflowapi.ArtifactError(err)
	}
	return struct {
		RootURI string     `json:"root_uri"`
		Files   []fileInfo `json:"files,omitempty"`
	}{root, toFileInfos(entries, sub)}, nil
}

func (h *Handler) downloadUnder(w http.ResponseWriter, r *http.Request, root, sub string) {
	sub, err := mlflowapi.CleanFilePath(sub)
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	base, ok := mlflowapi.StorePath(root)
	if !ok {
		h.api.WriteError(w, r, invalidf("Artifacts at %s are not served by this server", root))
		return
	}
	h.api.SendArtifact(w, r, h.arts, path.Join(base, sub))
}

func (h *Handler) listRunArtifacts(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := runID(req)
	if err != nil {
		return nil, err
	}
	sub, err := req.String("path")
	if err != nil {
		return nil, err
	}
	if _, err := mlflowapi.CleanPath(sub); err != nil {
		return nil, err
	}
	uri, err := h.store.RunArtifactURI(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return h.listUnder(r, uri, sub)
}

func (h *Handler) getRunArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("run_id")
	if id == "" {
		id = q.Get("run_uuid")
	}
	if _, err := mlflowapi.CleanPath(q.Get("path")); err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	uri, err := h.store.RunArtifactURI(r.Context(), id)
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	h.downloadUnder(w, r, uri, q.Get("path"))
}
