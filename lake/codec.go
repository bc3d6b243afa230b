package lake

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// CodecKey is the table property that chooses how Strata compresses the table's Parquet data files:
//
//   - "auto" (the default): zstd, unless the table's data gains too little from it (zstd saves less than a
//     tenth of its bytes, as full-precision floats do), then uncompressed: such columns decode 40–45% cheaper
//     uncompressed for files 8% larger, while rounded floats, integers, timestamps and strings stay zstd,
//     which makes them 2–60× smaller (docs/benchmarks.md, "Point-in-time training sets"). The choice is made
//     after every write from the files it wrote (their footers give zstd's saving; a sample of uncompressed
//     files is compressed to measure it) and applies from the next write on; it is recorded in Iceberg's
//     write.parquet.compression-codec, which other engines' writers follow too.
//   - "zstd", "snappy" or "uncompressed": that codec for every write.
//
// Existing files are never rewritten. Tables created by other engines keep the codec their owner chose in
// write.parquet.compression-codec (Strata adds this property naming it).
const CodecKey = "strata.write.parquet.codec"

// CodecAuto is CodecKey's default: the codec is chosen by the data.
const CodecAuto = "auto"

// compressionKey is Iceberg's table property naming the Parquet codec of new data files. The lake's own
// writer (iceberg-go) reads it from the table; a FileWriter finds it in the schema's metadata.
const compressionKey = table.ParquetCompressionKey

// FileCodecKey is the metadata key of the schema a FileWriter is given that names the compression the lake
// asks of the files: "zstd", "snappy" or "uncompressed" (absent: zstd).
const FileCodecKey = compressionKey

const (
	// autoMinSaving is the share of the bytes zstd must save for "auto" to keep it.
	autoMinSaving = 0.10
	// autoMinBytes is the least uncompressed size of a write that "auto" judges by: a smaller write keeps the
	// table's codec.
	autoMinBytes = 1 << 20
	// probeChunkBytes is how much of each uncompressed column chunk is compressed to measure zstd's saving.
	probeChunkBytes = 256 << 10
	// probeBytes bounds the bytes compressed to measure one write.
	probeBytes = 8 << 20
)

// codecs are the values CodecKey may fix.
var codecs = []string{"zstd", "snappy", "uncompressed"}

// codecSetting is a table's CodecKey: auto, or the codec every write uses.
type codecSetting struct {
	auto  bool
	codec string // the codec of the next write
}

// codecOf reads a table's codec setting from its properties.
func codecOf(props iceberg.Properties) (codecSetting, error) {
	v := strings.ToLower(strings.TrimSpace(props.Get(CodecKey, CodecAuto)))
	if v == CodecAuto {
		return codecSetting{auto: true, codec: strings.ToLower(props.Get(compressionKey, "zstd"))}, nil
	}
	for _, c := range codecs {
		if v == c {
			return codecSetting{codec: c}, nil
		}
	}
	return codecSetting{}, fmt.Errorf("%w: table property %s = %q: use %s or one of %s", ErrInvalid, CodecKey,
		props[CodecKey], CodecAuto, strings.Join(codecs, ", "))
}

// ownerCodec is the CodecKey a table created by another engine gets: the codec its owner chose, if it is one
// CodecKey can fix, else auto.
func ownerCodec(props iceberg.Properties) string {
	c := strings.ToLower(props.Get(compressionKey, ""))
	for _, known := range codecs {
		if c == known && c != "zstd" {
			return c
		}
	}
	return CodecAuto
}

// withCodec returns sc with the codec in its metadata (FileCodecKey), for a FileWriter.
func withCodec(sc *arrow.Schema, codec string) *arrow.Schema {
	keys, vals := []string{FileCodecKey}, []string{codec}
	md := sc.Metadata()
	for i, k := range md.Keys() {
		if k != FileCodecKey {
			keys, vals = append(keys, k), append(vals, md.Values()[i])
		}
	}
	meta := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(sc.Fields(), &meta)
}

// nextCodec is the codec "auto" picks for the next write from the bytes a write's column chunks take
// uncompressed (plain) and zstd-compressed (packed); current when the write is too small to judge.
func nextCodec(current string, plain, packed int64) string {
	if plain < autoMinBytes {
		return current
	}
	if 1-float64(packed)/float64(plain) < autoMinSaving {
		return "uncompressed"
	}
	return "zstd"
}

// zstdSizes measures what zstd makes of the column chunks of local Parquet files: their bytes uncompressed
// and compressed. A zstd chunk's sizes are in the footer; a sample of an uncompressed chunk is compressed and
// the chunk counted at the sample's ratio; chunks of other codecs are left out. Files it cannot read are
// left out too (the choice is a hint, never a reason to fail a write). Go's zstd (the sample's) gains less
// than DuckDB's on near-random bytes (nothing against 8% on random doubles), so a table turns back from
// uncompressed to zstd only when its data clearly compresses again: the choice does not flip back and forth.
// footers holds the footers already read of some of the files (the FileWriter's, read to commit them): those
// are not read again.
func zstdSizes(paths []string, footers map[string]*metadata.FileMetaData) (plain, packed int64) {
	enc, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return 0, 0
	}
	budget := int64(probeBytes)
	for _, p := range paths {
		md := footers[p]
		if md == nil {
			rd, err := file.OpenParquetFile(p, false)
			if err != nil {
				continue
			}
			md = rd.MetaData()
			_ = rd.Close()
		}
		var f *os.File // opened at the first uncompressed chunk: zstd chunks' sizes are in the footer
		for g := 0; g < md.NumRowGroups(); g++ {
			rg := md.RowGroup(g)
			for c := 0; c < rg.NumColumns(); c++ {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					continue
				}
				switch cc.Compression() {
				case compress.Codecs.Zstd:
					plain += cc.TotalUncompressedSize()
					packed += cc.TotalCompressedSize()
				case compress.Codecs.Uncompressed:
					size := cc.TotalCompressedSize()
					start := cc.DataPageOffset()
					if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
						start = min(start, cc.DictionaryPageOffset())
					}
					n := min(size, probeChunkBytes, budget)
					if n <= 0 {
						continue
					}
					if f == nil {
						if f, err = os.Open(p); err != nil {
							f = nil
							continue
						}
					}
					buf := make([]byte, n)
					// from the middle of the chunk: its start may be a dictionary page or a run unlike the rest
					if _, err := f.ReadAt(buf, start+(size-n)/2); err != nil && err != io.EOF {
						continue
					}
					budget -= n
					z := enc.Encode(nil, buf)
					plain += size
					packed += int64(float64(size) * float64(len(z)) / float64(n))
				}
			}
		}
		if f != nil {
			_ = f.Close()
		}
	}
	return plain, packed
}
