package api

// listEnvs is GET /envs.
func (a *API) listEnvs(in *request) (any, error) {
	list, err := a.envs.List(in.ctx())
	if err != nil {
		return nil, err
	}
	return map[string]any{"envs": list}, nil
}

// getEnv is GET /envs/{env}.
func (a *API) getEnv(in *request) (any, error) {
	return a.envs.Get(in.ctx(), in.path("env"))
}
