package recipes

import (
	"context"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/v1sim"
)

// TestMousePredictorLearns trains the denoising predictor briefly on a
// small simulated mouse recording: the validation correlation rises, the
// run folder describes the head, and a second call returns the finished
// run.
func TestMousePredictorLearns(t *testing.T) {
	images := grayImages(t, stripes(t, 230, 5))
	cfg := v1sim.MouseConfig()
	cfg.Neurons = 60
	cfg.PixelsPerDegree = 1 // receptive fields of a few pixels on the 32×32 stripes
	pop, err := v1sim.NewPopulation(cfg, 32, 32, 2)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := v1sim.RecordMouse(pop, images, v1sim.LiProtocol{Scans: 2, NeuronsPerScan: 30, OracleImages: 30, OracleRepeats: 4, Behavior: v1sim.DefaultBehavior()}, 3)
	if err != nil {
		t.Fatal(err)
	}
	rc := PaperPredictor()
	rc.Batch = 32
	rc.Optimizer.LR = 2e-2
	rc.ReadoutL1 = 0.01
	rc.Stopping = StoppingConfig{Patience: 8, DecaySteps: 1, MaxEpochs: 8, Tolerance: 1e-6}
	job := MousePredictorJob{Dir: t.TempDir(), Core: models.MouseCore{Channels: []int{4, 4}, Kernels: []int{5, 3}, Skip: 2},
		Shifter: true, Modulator: true, Recipe: rc, Recordings: rec, Seed: 1}
	res, err := TrainMousePredictor(context.Background(), testEnv(t), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 8 || !(res.ValidationCorrelation > res.History[0].Objective) || !(res.ValidationCorrelation > 0.1) || len(res.ScanTestCorrelation) != 2 {
		t.Errorf("after %d epochs: validation correlation %.3f (epoch 1 %.3f), test %.3f %v", res.Epochs, res.ValidationCorrelation,
			res.History[0].Objective, res.TestCorrelation, res.ScanTestCorrelation)
	}
	info, err := checkpoint.ReadRunInfo(job.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != checkpoint.KindMousePredictor || info.Mouse == nil || !info.Mouse.Shifter || len(info.Mouse.Normalize) != 2 || info.Mouse.Normalize[0].ModStd[1] <= 0 {
		t.Errorf("run.json: kind %s, head %+v", info.Kind, info.Mouse)
	}
	again, err := TrainMousePredictor(context.Background(), testEnv(t), job)
	if err != nil || again.Epochs != 8 || again.TestCorrelation != res.TestCorrelation {
		t.Errorf("re-running the finished job: %v, %d epochs, test %.4f (was %.4f)", err, again.Epochs, again.TestCorrelation, res.TestCorrelation)
	}
	// Behaviour networks need behaviour.
	rec.Sessions[1].Behavior = nil
	job.Dir = t.TempDir()
	if _, err := TrainMousePredictor(context.Background(), testEnv(t), job); err == nil || !strings.Contains(err.Error(), "has no behaviour") {
		t.Errorf("a scan without behaviour: %v", err)
	}
}
