package nn

import (
	"math"
	"testing"
)

func TestEarlyStopping(t *testing.T) {
	tests := []struct {
		name       string
		offByOne   bool
		patience   int
		rounds     int
		maxEpochs  int
		objectives []float64
		actions    []Action
	}{
		{
			name: "patience counts bad epochs", patience: 2, rounds: 2, maxEpochs: 100,
			objectives: []float64{1, 2, 2, 2, 3, 3, 3},
			actions:    []Action{Continue, Continue, Continue, RestoreBest, Continue, Continue, Stop},
		},
		{
			name: "original off-by-one waits one epoch more", offByOne: true, patience: 2, rounds: 2, maxEpochs: 100,
			objectives: []float64{1, 2, 2, 2, 2, 3, 3, 3, 3},
			actions:    []Action{Continue, Continue, Continue, Continue, RestoreBest, Continue, Continue, Continue, Stop},
		},
		{
			name: "tolerance is absolute", patience: 1, rounds: 3, maxEpochs: 100,
			objectives: []float64{1, 1.00005, 1.2},
			actions:    []Action{Continue, RestoreBest, Continue},
		},
		{
			name: "max epochs", patience: 5, rounds: 5, maxEpochs: 3,
			objectives: []float64{1, 2, 3},
			actions:    []Action{Continue, Continue, Stop},
		},
		{
			name: "non-finite objective stops", patience: 5, rounds: 5, maxEpochs: 100,
			objectives: []float64{1, math.NaN()},
			actions:    []Action{Continue, Stop},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEarlyStopping(Max, tc.patience, 1e-4, tc.rounds, tc.maxEpochs, tc.offByOne)
			e.Start(0)
			for i, obj := range tc.objectives {
				_, got := e.Observe(obj)
				if got != tc.actions[i] {
					t.Fatalf("epoch %d (objective %v): %s, want %s", i+1, obj, got, tc.actions[i])
				}
			}
			if !e.Finished && tc.actions[len(tc.actions)-1] == Stop {
				t.Error("not marked finished after Stop")
			}
		})
	}
}

func TestPlateauRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		factor float64
		mode   Mode
		tm     ThresholdMode
	}{{1.5, Max, Rel}, {0.5, "up", Rel}, {0.5, Min, "pct"}} {
		if _, err := NewPlateau(0.1, tc.mode, tc.factor, 5, 1e-4, tc.tm, 0, 0); err == nil {
			t.Errorf("NewPlateau(factor %v, mode %q, threshold mode %q) accepted", tc.factor, tc.mode, tc.tm)
		}
	}
}
