package registry

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/strata-data/strata/mlflowapi"
)

// Tags and sources of MLflow's prompt registry, which keeps prompts as registered models: a version whose
// tag mlflow.prompt.is_prompt is "true" is a prompt, and its source is one of the placeholders MLflow's own
// clients send (mlflow/prompt/constants.py).
const tagIsPrompt = "mlflow.prompt.is_prompt"

var promptSources = map[string]bool{"dummy-source": true, "prompt-template": true}

// isPrompt reports whether tags mark a prompt (the last value of the tag wins, as in MLflow).
func isPrompt(tags []mlflowapi.KeyValue) bool {
	v := "false"
	for _, t := range tags {
		if t.Key == tagIsPrompt {
			v = t.Value
		}
	}
	return strings.EqualFold(v, "true")
}

// resolveSource checks a new version's source the way MLflow's server does (mlflow/server/handlers.py,
// _create_model_version) and returns its storage location, filling in's run and model ids from what the
// source names:
//   - a prompt version's source must be a placeholder; it is stored as is;
//   - models:/<model_id> needs the request's model_id to name the same logged model, and resolves to its
//     artifact location (run_id defaults to the model's source run);
//   - models:/<name>/<version> (also @alias, /latest, /<stage>), which copy_model_version sends, resolves to
//     that version's download location and lineage (run_id, model_id), stored as models:/<name>/<number>;
//   - runs:/<run_id>/<path> resolves under the run's artifacts;
//   - a local path is refused; an mlflow-artifacts source must lie under the run's (or model's) artifacts.
//
// It writes nothing.
func (s *Store) resolveSource(ctx context.Context, in *CreateModelVersionInput) (string, error) {
	if in.Source == "" {
		return "", mlflowapi.MissingParam("source")
	}
	if isPrompt(in.Tags) {
		if !promptSources[in.Source] {
			return "", invalidf("Invalid prompt source: '%s'. Prompt sources must use an MLflow placeholder.", in.Source)
		}
		return in.Source, nil
	}
	if hasTraversal(in.Source) {
		return "", invalidf("Invalid model version source: '%s'.", in.Source)
	}
	switch {
	case strings.HasPrefix(in.Source, "models:"):
		return s.resolveModelsURI(ctx, in)
	case strings.HasPrefix(in.Source, "runs:/"):
		rest := strings.TrimPrefix(in.Source, "runs:/")
		rid, sub, _ := strings.Cut(rest, "/")
		if in.RunID != "" && in.RunID != rid {
			return "", invalidf("The run_id '%s' does not match the run in the source %s.", in.RunID, in.Source)
		}
		uri, err := s.tracking.RunArtifactURI(ctx, rid)
		if err != nil {
			return "", err
		}
		in.RunID = rid
		return strings.TrimSuffix(uri, "/") + "/" + sub, nil
	}
	if isLocalPath(in.Source) {
		return "", invalidf("To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.")
	}
	if in.RunID != "" {
		uri, err := s.tracking.RunArtifactURI(ctx, in.RunID)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(in.Source, "mlflow-artifacts:") && !underURI(in.Source, uri) {
			return "", invalidf("Invalid model version source: '%s'. It must be under the artifact location of run '%s' (%s).", in.Source, in.RunID, uri)
		}
	}
	if in.ModelID != "" {
		uri, _, err := s.tracking.LoggedModelLocation(ctx, in.ModelID)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(in.Source, "mlflow-artifacts:") && in.RunID == "" && !underURI(in.Source, uri) {
			return "", invalidf("Invalid model version source: '%s'. It must be under the artifact location of model '%s'.", in.Source, in.ModelID)
		}
	}
	return in.Source, nil
}

// modelsURI is a parsed models:/ URI (mlflow/store/artifact/utils/models.py, _parse_model_uri): a logged
// model id, or a registered model name with one of version, alias, stage, or none (the latest version).
type modelsURI struct {
	modelID, name, version, alias, stage string
}

var digits = regexp.MustCompile(`^\d+$`)

func parseModelsURI(src string) (modelsURI, error) {
	bad := func() (modelsURI, error) {
		return modelsURI{}, invalidf("Not a proper models:/ URI: %s. Models URIs must be of the form 'models:/name/suffix' or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.", src)
	}
	rest := strings.TrimPrefix(src, "models:")
	if strings.HasPrefix(rest, "//") {
		return modelsURI{}, invalidf("Invalid model version source: '%s'. Registered model sources must use the active model registry.", src)
	}
	if !strings.HasPrefix(rest, "/") || len(rest) <= 1 {
		return bad()
	}
	parts := strings.Split(strings.TrimLeft(rest, "/"), "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return bad()
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		switch {
		case strings.TrimSpace(suffix) == "":
			return bad()
		case digits.MatchString(suffix):
			return modelsURI{name: name, version: suffix}, nil
		case strings.EqualFold(suffix, "latest"):
			return modelsURI{name: name}, nil
		}
		return modelsURI{name: name, stage: suffix}, nil
	}
	if i := strings.LastIndexByte(parts[0], '@'); i >= 0 {
		if strings.TrimSpace(parts[0][i+1:]) == "" {
			return bad()
		}
		return modelsURI{name: parts[0][:i], alias: parts[0][i+1:]}, nil
	}
	return modelsURI{modelID: parts[0]}, nil
}

// resolveModelsURI resolves a models:/ source (see resolveSource).
func (s *Store) resolveModelsURI(ctx context.Context, in *CreateModelVersionInput) (string, error) {
	u, err := parseModelsURI(in.Source)
	if err != nil {
		return "", err
	}
	if u.modelID != "" {
		if in.ModelID != u.modelID {
			return "", invalidf("Invalid model version source: '%s'. The model_id request parameter must identify the resource that contains the source.", in.Source)
		}
		uri, runID, err := s.tracking.LoggedModelLocation(ctx, u.modelID)
		if err != nil {
			return "", err
		}
		if in.RunID == "" {
			in.RunID = runID
		}
		return uri, nil
	}
	src, err := s.sourceVersion(ctx, in.Source, u)
	if err != nil {
		return "", err
	}
	if in.RunID != "" && in.RunID != src.RunID || in.ModelID != "" && in.ModelID != src.ModelID {
		return "", invalidf("Invalid model version source: '%s'. The run_id and model_id request parameters must match the referenced model version.", in.Source)
	}
	in.Source = fmt.Sprintf("models:/%s/%s", src.Name, src.Version)
	in.RunID, in.ModelID = src.RunID, src.ModelID
	if src.StorageLocation != "" {
		return src.StorageLocation, nil
	}
	return src.Source, nil
}

// sourceVersion finds the model version a models:/<name>/... source names; prompts are not model sources.
func (s *Store) sourceVersion(ctx context.Context, source string, u modelsURI) (*ModelVersion, error) {
	m, err := s.GetRegisteredModel(ctx, u.name)
	if err != nil {
		return nil, err
	}
	if isPrompt(m.Tags) {
		return nil, invalidf("Invalid model version source: '%s'. Prompt versions cannot be used as model version sources.", source)
	}
	var version int64
	switch {
	case u.version != "":
		if version, err = strconv.ParseInt(u.version, 10, 64); err != nil {
			return nil, invalidf("Invalid model version source: '%s': the version is not a number.", source)
		}
	case u.alias != "":
		if version, err = s.ResolveAlias(ctx, u.name, u.alias); err != nil {
			return nil, err
		}
	default:
		var want []string
		if u.stage != "" {
			want = []string{u.stage}
		}
		latest, err := s.GetLatestVersions(ctx, u.name, want)
		if err != nil {
			return nil, err
		}
		for _, v := range latest {
			version = max(version, v.number)
		}
		if version == 0 {
			return nil, mlflowapi.Errorf(ErrNotFound, "No versions of model with name '%s' found for the source '%s'.", u.name, source)
		}
	}
	return s.GetModelVersion(ctx, u.name, version)
}

func hasTraversal(src string) bool {
	dec, err := url.PathUnescape(src)
	if err != nil {
		return true
	}
	for _, s := range []string{src, dec} {
		if strings.Contains(s, "\x00") {
			return true
		}
		for _, seg := range strings.Split(s, "/") {
			if seg == ".." {
				return true
			}
		}
	}
	return false
}

// isLocalPath reports whether a source names a path on the server's disk (no URI scheme, or file:).
func isLocalPath(src string) bool {
	return strings.HasPrefix(src, "file:") || !strings.Contains(src, ":")
}

func underURI(src, root string) bool {
	root = strings.TrimSuffix(root, "/")
	return src == root || strings.HasPrefix(src, root+"/")
}
