package main

import (
	"math"
	"slices"
	"time"
)

// Summary is the median, min and max of repeated measurements, with the values in the order
// they were taken.
type Summary struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

func summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[len(s)-1], Values: values}
}

// percentile returns the q-quantile (0 < q <= 1) of d by the nearest-rank method.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// round3 keeps JSON readable: 3 significant decimals are more than the noise allows.
func round3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return math.Round(v*1000) / 1000
}

func (s Summary) rounded() Summary {
	out := Summary{Median: round3(s.Median), Min: round3(s.Min), Max: round3(s.Max)}
	for _, v := range s.Values {
		out.Values = append(out.Values, round3(v))
	}
	return out
}
