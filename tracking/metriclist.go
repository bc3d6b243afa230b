package tracking

import (
	"math"
	"strconv"
)

// rawJSON is a response body that is already encoded.
type rawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// appendMetricList encodes {"metrics":[...],"next_page_token":"..."} by hand: a 25,000-point history page is
// the largest response the client asks for, and reflection-based encoding of it cost more than the query.
// strconv quoting is JSON-safe here: metric keys are validated to ASCII word characters, run ids are hex and
// tokens base64.
func appendMetricList(b []byte, ms []Metric, next string) []byte {
	b = append(b, '{')
	if len(ms) > 0 {
		b = append(b, `"metrics":[`...)
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = strconv.AppendQuote(b, m.Key)
			b = append(b, `,"value":`...)
			b = appendFloat(b, float64(m.Value))
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, m.Timestamp, 10)
			b = append(b, `,"step":`...)
			b = strconv.AppendInt(b, m.Step, 10)
			if m.RunID != "" {
				b = append(b, `,"run_id":`...)
				b = strconv.AppendQuote(b, m.RunID)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if next != "" {
		if len(ms) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"next_page_token":`...)
		b = strconv.AppendQuote(b, next)
	}
	return append(b, '}')
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	// encoding/json's float format, without its allocation.
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}
