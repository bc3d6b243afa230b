package tracking

import "math"

func nan() float64 { return math.NaN() }

// storedMetric is how a metric value is kept: NaN as is_nan with 0, ±Inf clamped to ±MaxFloat64 (MLflow's SQL
// store does the same, and clients expect those exact numbers back).
func storedMetric(v float64) (float64, int) {
	switch {
	case math.IsNaN(v):
		return 0, 1
	case math.IsInf(v, 1):
		return math.MaxFloat64, 0
	case math.IsInf(v, -1):
		return -math.MaxFloat64, 0
	}
	return v, 0
}
