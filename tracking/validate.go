package tracking

import (
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// MLflow's limits (mlflow/utils/validation.py).
const (
	maxKeyLength          = 250
	maxParamValueLength   = 6000
	maxTagValueLength     = 8000
	maxMetricsPerBatch    = 1000
	maxParamsTagsPerBatch = 100
	maxEntitiesPerBatch   = 1000
	maxBatchRequestBytes  = 1000000
	maxDatasetName        = 500
	maxDatasetDigest      = 36
	maxDatasetSource      = 65535
	maxDatasetSchema      = 1048575
	maxDatasetProfile     = 16777215
	maxInputTagKey        = 255
	maxInputTagValue      = 500
	maxSearchResults      = 50000
)

var (
	keyRe   = regexp.MustCompile(`^[/\w.\- :]*$`)
	runIDRe = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
)

// validateKey checks a metric/param/tag key the way MLflow does: allowed characters, no path tricks, length.
func validateKey(field, key string) error {
	if key == "" {
		return invalidf("Invalid value \"\" for parameter '%s' supplied: A key name must be provided.", field)
	}
	if !keyRe.MatchString(key) {
		return invalidf("Invalid value %s for parameter '%s' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).", quoteJSON(key), field)
	}
	if norm := path.Clean(key); norm != key || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return invalidf("Invalid value %s for parameter '%s' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", quoteJSON(key), field, norm)
	}
	if len(key) > maxKeyLength {
		return invalidf("'%s' exceeds the maximum length of %d characters", field, maxKeyLength)
	}
	return nil
}

func quoteJSON(s string) string { b, _ := json.Marshal(s); return string(b) }

func validateRunID(id string) error {
	if !runIDRe.MatchString(id) {
		return invalidf("Invalid value %s for parameter 'run_id' supplied.", quoteJSON(id))
	}
	return nil
}

func validateParam(p KeyValue) error {
	if err := validateKey("key", p.Key); err != nil {
		return err
	}
	if len(p.Value) > maxParamValueLength {
		return invalidf("'value' exceeds the maximum length of %d characters", maxParamValueLength)
	}
	return nil
}

func validateTag(t KeyValue) error {
	if err := validateKey("key", t.Key); err != nil {
		return err
	}
	if len(t.Value) > maxTagValueLength {
		return invalidf("'value' exceeds the maximum length of %d characters", maxTagValueLength)
	}
	return nil
}
