package api

import (
	"slices"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/envs"
)

// listEnvs is GET /envs.
func (a *API) listEnvs(in *request) (any, error) {
	list, err := a.envs.List(in.ctx())
	if err != nil {
		return nil, err
	}
	if who := auth.FromContext(in.ctx()); who != nil { // a user sees the environments it has a role in
		list = slices.DeleteFunc(list, func(e envs.Env) bool { return !who.CanRead(e.Name) })
	}
	return map[string]any{"envs": list}, nil
}

// getEnv is GET /envs/{env}.
func (a *API) getEnv(in *request) (any, error) {
	return a.envs.Get(in.ctx(), in.path("env"))
}
