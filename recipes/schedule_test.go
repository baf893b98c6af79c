package recipes

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// scheduleFixture is recipes/testdata/schedule_original.json: the
// original's epoch-by-epoch schedule on a synthetic objective, replayed
// with PyTorch's ReduceLROnPlateau by schedule_original.py.
type scheduleFixture struct {
	Settings struct {
		LR            float64 `json:"lr"`
		Factor        float64 `json:"factor"`
		Patience      int     `json:"patience"`
		Threshold     float64 `json:"threshold"`
		ThresholdMode string  `json:"threshold_mode"`
		MinLR         float64 `json:"min_lr"`
		Tolerance     float64 `json:"tolerance"`
		DecaySteps    int     `json:"decay_steps"`
		MaxEpochs     int     `json:"max_epochs"`
	} `json:"settings"`
	Objectives []float64 `json:"objectives"`
	Epochs     []struct {
		Epoch   int     `json:"epoch"`
		LR      float64 `json:"lr"`
		Restore bool    `json:"restore"`
	} `json:"epochs"`
	StopEpoch int `json:"stop_epoch"`
}

// objectiveTrainer trains nothing: its validation objective after epoch e
// is f[e], whatever the weights.
type objectiveTrainer struct {
	f    []float64
	last int // the last epoch trained
}

func (t *objectiveTrainer) epoch(_ context.Context, epoch int, _ func(int, int, int, string)) (map[string]float64, error) {
	t.last = epoch
	return map[string]float64{}, nil
}

func (t *objectiveTrainer) validate(context.Context) (float64, map[string]float64, error) {
	return t.f[t.last], nil, nil
}

// runSchedule runs the training loop on the fixture's objective.
func runSchedule(t *testing.T, fx scheduleFixture, original bool) []EpochRecord {
	t.Helper()
	s := fx.Settings
	g := gctx.New()
	if err := nn.SetLearningRate(g, dtypes.Float32, s.LR); err != nil {
		t.Fatal(err)
	}
	l := &loop{dir: t.TempDir(), configHash: "schedule", mode: nn.Max, lr: s.LR, dtype: dtypes.Float32, objective: "objective",
		plateau:  PlateauConfig{Factor: s.Factor, Patience: s.Patience, Threshold: s.Threshold, ThresholdMode: s.ThresholdMode, MinLR: s.MinLR},
		stopping: StoppingConfig{Patience: s.Patience, DecaySteps: s.DecaySteps, MaxEpochs: s.MaxEpochs, Tolerance: s.Tolerance, OriginalSchedule: original}}
	res, err := l.run(context.Background(), Env{}, g, &objectiveTrainer{f: fx.Objectives})
	if err != nil {
		t.Fatal(err)
	}
	return res.History
}

func loadScheduleFixture(t *testing.T) scheduleFixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/schedule_original.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx scheduleFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	return fx
}

// TestOriginalSchedule: with original_schedule the loop reproduces the
// original's learning rates, restores and stopping epoch exactly.
func TestOriginalSchedule(t *testing.T) {
	fx := loadScheduleFixture(t)
	hist := runSchedule(t, fx, true)
	if len(hist) != fx.StopEpoch {
		t.Fatalf("stopped after %d epochs, the original after %d", len(hist), fx.StopEpoch)
	}
	for i, want := range fx.Epochs {
		got := hist[i]
		if got.Epoch != want.Epoch || math.Abs(got.LR-want.LR) > 1e-6*want.LR || (got.Action == nn.RestoreBest) != want.Restore {
			t.Errorf("epoch %d: lr %g, action %s; the original: lr %g, restore %v", want.Epoch, got.LR, got.Action, want.LR, want.Restore)
		}
	}
}

// TestCoupledSchedule: by default patience means Patience bad epochs, and
// the learning rate falls by the plateau factor exactly at each restore of
// the best weights, so that the five rounds train at five rates; the
// expected schedule is worked out here from the objective alone.
func TestCoupledSchedule(t *testing.T) {
	fx := loadScheduleFixture(t)
	s := fx.Settings
	hist := runSchedule(t, fx, false)
	best, counter, round, lr := fx.Objectives[0], 0, 0, s.LR
	epoch := 0
	for round < s.DecaySteps {
		epoch++
		if epoch > len(hist) {
			t.Fatalf("stopped after %d epochs; expected more (round %d)", len(hist), round+1)
		}
		got := hist[epoch-1]
		if math.Abs(got.LR-lr) > 1e-6*lr {
			t.Errorf("epoch %d: lr %g, want %g (round %d)", epoch, got.LR, lr, round+1)
		}
		if f := fx.Objectives[epoch]; f > best+s.Tolerance {
			best, counter = f, 0
		} else {
			counter++
		}
		want := nn.Continue
		if counter == s.Patience {
			round++
			counter = 0
			want = nn.RestoreBest
			if round == s.DecaySteps {
				want = nn.Stop
			}
			lr *= s.Factor
		}
		if got.Action != want {
			t.Errorf("epoch %d: action %s, want %s", epoch, got.Action, want)
		}
	}
	if len(hist) != epoch {
		t.Errorf("trained %d epochs, want %d (five rounds of patience %d)", len(hist), epoch, s.Patience)
	}
	rates := map[float64]bool{}
	for _, r := range hist {
		rates[r.LR] = true
	}
	if len(rates) != s.DecaySteps {
		t.Errorf("trained at %d learning rates, want one per round (%d)", len(rates), s.DecaySteps)
	}
}
