package registry

import "github.com/strata-data/strata/mlflowapi"

// RegisteredModel is MLflow's registered model, in its wire format.
type RegisteredModel struct {
	Name                 string               `json:"name"`
	CreationTimestamp    int64                `json:"creation_timestamp"`
	LastUpdatedTimestamp int64                `json:"last_updated_timestamp"`
	UserID               string               `json:"user_id,omitempty"`
	Description          string               `json:"description"`
	LatestVersions       []*ModelVersion      `json:"latest_versions,omitempty"`
	Tags                 []mlflowapi.KeyValue `json:"tags,omitempty"`
	Aliases              []Alias              `json:"aliases,omitempty"`
}

// Alias points a name at a version of a registered model.
type Alias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// ModelVersion is one version of a registered model. Versions are READY as soon as they are created.
type ModelVersion struct {
	Name                 string               `json:"name"`
	Version              string               `json:"version"`
	CreationTimestamp    int64                `json:"creation_timestamp"`
	LastUpdatedTimestamp int64                `json:"last_updated_timestamp"`
	UserID               string               `json:"user_id,omitempty"`
	CurrentStage         string               `json:"current_stage"`
	Description          string               `json:"description"`
	Source               string               `json:"source"`
	RunID                string               `json:"run_id,omitempty"`
	Status               string               `json:"status"`
	StatusMessage        string               `json:"status_message,omitempty"`
	Tags                 []mlflowapi.KeyValue `json:"tags,omitempty"`
	RunLink              string               `json:"run_link,omitempty"`
	Aliases              []string             `json:"aliases,omitempty"`
	StorageLocation      string               `json:"-"`
	ModelID              string               `json:"-"`
	number               int64                // Version as a number
}

// Stages (deprecated by MLflow in favour of aliases, still answered).
var stages = map[string]string{"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
