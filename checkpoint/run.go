package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/models"
)

// The files of a run folder: one trained model (one recipe, one seed).
const (
	// RunFile describes the model: enough to rebuild and evaluate it.
	RunFile = "run.json"
	// ModelFile holds the final (best) model weights; its presence marks
	// the training finished.
	ModelFile = "model.npz"
	// StateFile is the training loop's state after the last completed
	// epoch, from which an interrupted run resumes.
	StateFile = "state.json"
	// MetricsFile holds one record per completed epoch.
	MetricsFile = "metrics.json"
)

// Kind says which heads a run folder's model has, and so what it can be
// loaded as.
type Kind string

// Kinds of trained models in RunInfo.
const (
	KindClassifier Kind = "classifier" // a classifier: Baseline, Oracle
	KindPredictor  Kind = "predictor"  // a neural predictor: Monkey Predictor, the Oracle's readout
	KindMTL        Kind = "mtl"        // a co-trained model with both heads
	// KindMousePredictor is Li et al.'s denoising predictor: a mouse core
	// with per-scan readouts, shifter and modulator (RunInfo.Mouse).
	KindMousePredictor Kind = "mouse-predictor"
	// KindSimilarity is a classifier trained with Li et al.'s similarity
	// regularizer (or, without RunInfo.Similarity, its "None" control):
	// it loads as a classifier.
	KindSimilarity Kind = "similarity"
)

// RunInfo is the content of RunFile.
type RunInfo struct {
	Kind      Kind           `json:"kind"`
	Model     models.Spec    `json:"model"`
	Normalize data.Normalize `json:"normalize"`
	Classes   []string       `json:"classes,omitempty"`
	// Readouts lists the neural head's readouts (predictors and co-trained
	// models).
	Readouts []models.Readout `json:"readouts,omitempty"`
	// Tap names the core layer the neural head reads (empty: the VGG's
	// own tap, as runs before this field recorded it).
	Tap string `json:"tap,omitempty"`
	// Mouse is the head of a mouse predictor: readouts, shifter,
	// modulator and the behaviour standardization.
	Mouse *models.MouseHead `json:"mouse,omitempty"`
	// Similarity is the similarity head of a similarity-regularized
	// classifier (KindSimilarity): the layers its γ weigh.
	Similarity *models.SimilarityHead `json:"similarity,omitempty"`
	Seed       int64                  `json:"seed"`
	Input      [2]int                 `json:"input"` // H, W
}

// Network rebuilds the run's classifier.
func (i RunInfo) Network() (models.Network, error) { return i.Model.Network() }

// Core rebuilds the run's core.
func (i RunInfo) Core() (models.Core, error) { return i.Model.Core() }

// NeuralLayer is the core layer the run's neural head reads.
func (i RunInfo) NeuralLayer() string {
	if i.Tap == "" && i.Model.Arch == models.ArchVGG {
		return i.Model.VGG.Tap
	}
	return i.Tap
}

// WriteRunInfo writes a run folder's description atomically.
func WriteRunInfo(dir string, info RunInfo) error {
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("describing run %s: %w", dir, err)
	}
	return atomicfile.WriteBytes(filepath.Join(dir, RunFile), raw)
}

// ReadRunInfo reads a run folder's description.
func ReadRunInfo(dir string) (RunInfo, error) {
	var info RunInfo
	raw, err := os.ReadFile(filepath.Join(dir, RunFile))
	if err != nil {
		return info, fmt.Errorf("%s is not a trained model directory (no %s): %w", dir, RunFile, err)
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, RunFile), err)
	}
	return info, nil
}

// LoadRun reads a finished run folder's description and model weights,
// checking that it holds one of the given kinds. The returned context
// reuses the loaded variables, ready for building inference graphs.
func LoadRun(dir string, kinds ...Kind) (RunInfo, *context.Context, error) {
	info, err := ReadRunInfo(dir)
	if err != nil {
		return info, nil, err
	}
	if !slices.Contains(kinds, info.Kind) {
		return info, nil, fmt.Errorf("%s holds a %s model; this needs one of %v", dir, info.Kind, kinds)
	}
	g := context.New()
	if err := Load(filepath.Join(dir, ModelFile), g); err != nil {
		return info, nil, fmt.Errorf("%w (is training in %s finished?)", err, dir)
	}
	return info, g.Reuse(), nil
}
