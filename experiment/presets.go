package experiment

import (
	"embed"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

//go:embed presets/*.toml
var presets embed.FS

// Presets lists the names of the built-in experiments: "demo", the embedded
// default that runs on Fashion-MNIST with a simulated V1 in under an hour on
// two cores, and "paper", the paper's full settings on Tiny ImageNet and
// real V1 recordings.
func Presets() []string {
	entries, _ := presets.ReadDir("presets")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	slices.Sort(names)
	return names
}

// Preset returns the TOML text of a built-in experiment, named with or
// without ".toml".
func Preset(name string) ([]byte, bool) {
	if name != path.Base(name) {
		return nil, false
	}
	text, err := presets.ReadFile("presets/" + strings.TrimSuffix(name, ".toml") + ".toml")
	return text, err == nil
}

// Load reads an experiment: a TOML file, or the name of a preset (a
// regular file of that name wins).
func Load(name string) (Config, error) {
	text, err := Text(name)
	if err != nil {
		return Config{}, err
	}
	return Parse(name, text)
}

// Text returns the TOML text of an experiment: a file, or the name of a
// preset (a regular file of that name wins).
func Text(name string) ([]byte, error) {
	if st, err := os.Stat(name); err != nil || !st.Mode().IsRegular() {
		if text, ok := Preset(name); ok {
			return text, nil
		}
	}
	text, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading experiment file: %w (the built-in experiments are %s)", err, strings.Join(Presets(), ", "))
	}
	return text, nil
}

// ConfigFile, in a run's root, is a copy of the experiment file the run
// was started with: what cotrain slurm's scripts and cotrain serve read.
const ConfigFile = "experiment.toml"

// SaveText writes the experiment's text into root as ConfigFile
// (atomically), so that the root alone describes the run.
func SaveText(root string, text []byte) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(root, ConfigFile), text)
}

// LoadRoot reads the experiment a run's root was started with (its
// ConfigFile) and returns its plan into that root.
func LoadRoot(root string) (*Plan, error) {
	path := filepath.Join(root, ConfigFile)
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s is not a run folder of cotrain run (no %s): %w", root, ConfigFile, err)
	}
	c, err := Parse(path, text)
	if err != nil {
		return nil, err
	}
	return NewPlan(c, root)
}
