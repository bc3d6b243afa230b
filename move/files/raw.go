//go:build duckdb_arrow

package files

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// maxRawBytes bounds the raw text kept of one row.
const maxRawBytes = 64 << 10

// RawLines reads the given 1-based lines of a file (gzip-compressed or not), as text: bytes that are not
// UTF-8 are written as \xNN, a line is cut at 64 KiB. Lines that cannot be read are missing from the result.
func RawLines(path string, lines []int64) map[int64]string {
	sorted := append([]int64(nil), lines...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	out := map[int64]string{}
	_ = readLines(path, sorted, func(n int64, text []byte) { out[n] = escapeInvalid(text) })
	return out
}

// readLines calls found with each wanted line (1-based, sorted) of a file, gzip-compressed or not.
func readLines(path string, lines []int64, found func(int64, []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var in io.Reader = f
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		in = gz
	}
	br := bufio.NewReaderSize(in, 1<<16)
	var n int64
	for len(lines) > 0 {
		text, err := readLine(br)
		if err != nil && len(text) == 0 {
			return err
		}
		n++
		for len(lines) > 0 && lines[0] == n {
			found(n, text)
			lines = lines[1:]
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLine reads one line without its end, keeping at most maxRawBytes of it.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out) < maxRawBytes {
			out = append(out, chunk[:min(len(chunk), maxRawBytes-len(out))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return []byte(strings.TrimRight(string(out), "\r\n")), err
	}
}

// escapeInvalid returns text as UTF-8, with each byte that is not part of valid UTF-8 written as \xNN.
func escapeInvalid(text []byte) string {
	if utf8.Valid(text) {
		return string(text)
	}
	var b strings.Builder
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, text[0])
		} else {
			b.Write(text[:size])
		}
		text = text[size:]
	}
	return b.String()
}
