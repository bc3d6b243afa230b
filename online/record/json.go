package record

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends a value as the JSON online serving answers with: numbers, strings, booleans, RFC 3339
// timestamps in UTC, base64 bytes; null for a null or missing value and for NaN/±Inf, which JSON cannot carry.
// Stored values (format version 2) carry this text beside their binary value, so serving copies it.
func AppendJSON(b []byte, v Value) []byte {
	switch v.Kind {
	case Int64:
		return strconv.AppendInt(b, v.I, 10)
	case Float64:
		if !finite(v.F) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v.F, 'g', -1, 64)
	case String:
		return appendJSONString(b, v.S)
	case Bool:
		return strconv.AppendBool(b, v.Bool())
	case Timestamp:
		return AppendJSONTime(b, v.I)
	case Bytes:
		enc, _ := json.Marshal([]byte(v.S))
		return append(b, enc...)
	}
	return append(b, "null"...)
}

func finite(f float64) bool {
	return f == f && f <= 1.7976931348623157e308 && f >= -1.7976931348623157e308
}

// AppendJSONTime appends µs since the epoch as a quoted RFC 3339 UTC timestamp.
func AppendJSONTime(b []byte, us int64) []byte {
	b = append(b, '"')
	b = time.UnixMicro(us).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString writes s as a JSON string without encoding/json's allocations; invalid UTF-8 goes through
// encoding/json, which replaces it.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		enc, _ := json.Marshal(s)
		return append(b, enc...)
	}
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
