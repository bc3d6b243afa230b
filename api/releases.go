package api

import (
	"strconv"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
)

// listReleases is GET /envs/{env}/releases: newest first, without their pins (GET one release for those).
func (a *API) listReleases(in *request) (any, error) {
	list, err := a.envs.Releases(in.ctx(), in.path("env"))
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []envs.Release{}
	}
	for i := range list {
		list[i].Pins = nil
	}
	return map[string]any{"releases": list}, nil
}

// getRelease is GET /envs/{env}/releases/{release}: a release number or "current".
func (a *API) getRelease(in *request) (any, error) {
	p := in.path("release")
	var id int64 // 0 = current
	if p != "current" {
		var err error
		if id, err = strconv.ParseInt(p, 10, 64); err != nil || id < 1 {
			return nil, errs.E(errs.Invalid, "release %q: give a release number or \"current\"", p)
		}
	}
	return a.envs.Release(in.ctx(), in.path("env"), id)
}
