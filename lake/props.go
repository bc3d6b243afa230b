package lake

import "github.com/apache/iceberg-go"

// gcEnabledKey is the Iceberg property that lets engines delete a table's files when they expire snapshots or
// purge the table. Strata sets it to false on every table it creates or writes, every table a clone shares
// (both sides) and every table a release pins: files may be shared across environments, and only Strata, which
// checks every table of every environment before deleting a file, may remove them.
const gcEnabledKey = "gc.enabled"

// tableProperties are the properties of every table Strata creates.
func tableProperties() iceberg.Properties {
	return iceberg.Properties{
		"format-version":       "2",
		"write.format.default": "parquet",
		// zstd Parquet, row groups small enough to bound writer memory and give DuckDB parallelism per file.
		"write.parquet.compression-codec": "zstd",
		// The codec of the next write is chosen by the data (see CodecKey).
		CodecKey:                             CodecAuto,
		"write.parquet.row-group-limit":      "131072",
		"write.parquet.row-group-size-bytes": "67108864",
		"write.target-file-size-bytes":       "268435456",
		// Strata's readers (DuckDB over the planned files) need copy-on-write: no delete files.
		"write.delete.mode": "copy-on-write",
		"write.update.mode": "copy-on-write",
		"write.merge.mode":  "copy-on-write",
		// One metadata JSON per commit; keep the last 20.
		"write.metadata.delete-after-commit.enabled": "true",
		"write.metadata.previous-versions-max":       "20",
		// Concurrent writers (several processes) refresh and replay instead of failing.
		"commit.retry.num-retries":      "100",
		"commit.retry.min-wait-ms":      "10",
		"commit.retry.max-wait-ms":      "1000",
		"commit.retry.total-timeout-ms": "600000",
		// Files may be shared with other environments' tables (clones): only Strata, which checks every
		// environment, may delete them. Spark and PyIceberg refuse expire/purge on such tables.
		gcEnabledKey: "false",
	}
}
