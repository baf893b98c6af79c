package experiment

import (
	"embed"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
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
	if st, err := os.Stat(name); err != nil || !st.Mode().IsRegular() {
		if text, ok := Preset(name); ok {
			return Parse(name, text)
		}
	}
	text, err := os.ReadFile(name)
	if err != nil {
		return Config{}, fmt.Errorf("reading experiment file: %w (the built-in experiments are %s)", err, strings.Join(Presets(), ", "))
	}
	return Parse(name, text)
}
