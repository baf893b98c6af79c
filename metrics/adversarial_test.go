package metrics

import (
	"encoding/json"
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		name string
		x    []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"zeros count", []float64{0, 0, 5}, 0},
		{"infinities sort last", []float64{inf, 1, inf}, inf},
		{"one infinity of four", []float64{inf, 1, 2, 3}, 2.5},
		{"middle pair reaches infinity", []float64{inf, inf, 1, 2}, inf},
	}
	for _, tc := range cases {
		if got := Median(tc.x); got != tc.want {
			t.Errorf("%s: Median(%v) = %v, want %v", tc.name, tc.x, got, tc.want)
		}
	}
}

// TestBootstrapMedian checks the interval against the order statistics it
// must lie between: every resample's median is a value of x, and for 101
// distinct values the 95 % interval of the median is narrow around the
// middle (binomial: about ±10 ranks).
func TestBootstrapMedian(t *testing.T) {
	x := make([]float64, 101)
	for i := range x {
		x[(i*37)%101] = float64(i)
	}
	e, err := BootstrapMedian(x, 500, 3)
	if err != nil {
		t.Fatal(err)
	}
	if e.Median != 50 || !(e.Low >= 38 && e.Low < 50 && e.High > 50 && e.High <= 62) {
		t.Errorf("median %v, interval [%v, %v]; want 50 inside about [40, 60]", e.Median, e.Low, e.High)
	}
	again, _ := BootstrapMedian(x, 500, 3)
	if again != e {
		t.Errorf("same seed gave %+v then %+v", e, again)
	}
	if _, err := BootstrapMedian(nil, 10, 1); err == nil {
		t.Error("no error for no values")
	}
}

func TestDistanceJSON(t *testing.T) {
	raw, err := json.Marshal([]Distance{0, 0.25, Distance(math.Inf(1))})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != "[0,0.25,null]" {
		t.Errorf("got %s", raw)
	}
	var back []Distance
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back[1] != 0.25 || !math.IsInf(float64(back[2]), 1) {
		t.Errorf("read back %v", back)
	}
}
