// Package experiments holds cotrain's built-in experiment files: demo.toml,
// the embedded default that runs the paper's Table 1 on Fashion-MNIST with a
// simulated V1 in well under an hour on two cores, and paper.toml, the
// paper's full settings on Tiny ImageNet and real V1 recordings.
package experiments

import "embed"

//go:embed demo.toml paper.toml
var files embed.FS

// Builtin returns the text of a built-in experiment ("demo", "paper", or
// those names with ".toml").
func Builtin(name string) ([]byte, bool) {
	switch name {
	case "demo", "demo.toml":
		name = "demo.toml"
	case "paper", "paper.toml":
		name = "paper.toml"
	default:
		return nil, false
	}
	text, err := files.ReadFile(name)
	return text, err == nil
}
