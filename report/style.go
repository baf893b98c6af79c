package report

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"

	"github.com/cotrain/cotrain/roles"
)

// rgb returns the opaque colour 0xrrggbb.
func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}

// kindColor returns the colour the paper's figures use for a kind (the
// authors' plotting colours: Baseline black, MTL-Monkey red, MTL-Shuffled
// pink, MTL-Oracle dark blue, Oracle light blue).
func kindColor(k roles.Role) (color.RGBA, bool) {
	switch k {
	case roles.Baseline:
		return rgb(0x000000), true
	case roles.MTLMonkey:
		return rgb(0xe31e1b), true
	case roles.MTLShuffled:
		return rgb(0xfb9a99), true
	case roles.MTLOracle:
		return rgb(0x2578b3), true
	case roles.Oracle:
		return rgb(0xa6cee3), true
	case roles.MonkeyPredictor:
		return rgb(0x6a3d9a), true
	}
	return color.RGBA{}, false
}

// extraColors are given, in order, to models whose kind colour is taken or
// who have none.
func extraColors() []color.RGBA {
	return []color.RGBA{rgb(0x33a02c), rgb(0xff7f00), rgb(0xb15928), rgb(0x1b9e77), rgb(0xe7298a),
		rgb(0x66a61e), rgb(0xe6ab02), rgb(0x7570b3), rgb(0xa6761d), rgb(0x666666)}
}

// modelColors assigns every model a colour, the same in every figure: the
// Baseline black, then each model its kind's colour if no earlier model
// took it, otherwise the next unused extra colour (cycling when they run
// out).
func modelColors(a *Analysis) map[string]color.RGBA {
	out := make(map[string]color.RGBA, len(a.Models))
	used := make(map[color.RGBA]bool)
	black, _ := kindColor(roles.Baseline)
	out[a.Baseline] = black
	used[black] = true
	extra := extraColors()
	next := 0
	for _, m := range a.Models {
		if m.Name == a.Baseline {
			continue
		}
		if c, ok := kindColor(m.Kind); ok && !used[c] {
			out[m.Name] = c
			used[c] = true
			continue
		}
		c := extra[next%len(extra)]
		for i := 0; i < len(extra) && used[c]; i++ {
			next++
			c = extra[next%len(extra)]
		}
		next++
		out[m.Name] = c
		used[c] = true
	}
	return out
}

// cssColor formats a colour as a CSS hex literal.
func cssColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// prettyCorruption turns an imagecorruptions name into a panel title:
// "jpeg_compression" → "JPEG Compression".
func prettyCorruption(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w == "jpeg" {
			words[i] = "JPEG"
			continue
		}
		words[i] = title(w)
	}
	return strings.Join(words, " ")
}

// accuracyColors is the colour map of Fig. 3C: light for low clean
// accuracy, dark for high ("a darker color indicates higher accuracy"),
// through cream, orange, red and purple at linear luminance steps.
type accuracyColors struct {
	ramp     palette.ColorMap // on [0, 1], dark to light
	min, max float64
}

// newAccuracyColors returns the colour map for clean accuracies in
// [lo, hi]; an empty range is widened by 0.5 on each side.
func newAccuracyColors(lo, hi float64) (*accuracyColors, error) {
	ramp, err := moreland.NewLuminance([]color.Color{
		rgb(0x03051a), rgb(0x4c1d4b), rgb(0xa11a5b), rgb(0xe83f3f), rgb(0xf69c73), rgb(0xfaebdd),
	})
	if err != nil {
		return nil, fmt.Errorf("building the clean-accuracy colour map: %w", err)
	}
	ramp.SetMin(0)
	ramp.SetMax(1)
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	return &accuracyColors{ramp: ramp, min: lo, max: hi}, nil
}

// At implements palette.ColorMap; values outside [Min, Max] are clamped.
func (m *accuracyColors) At(v float64) (color.Color, error) {
	u := (m.max - v) / (m.max - m.min)
	if math.IsNaN(u) {
		return nil, palette.ErrNaN
	}
	return m.ramp.At(math.Min(1, math.Max(0, u)))
}

// Max implements palette.ColorMap.
func (m *accuracyColors) Max() float64 { return m.max }

// SetMax implements palette.ColorMap.
func (m *accuracyColors) SetMax(v float64) { m.max = v }

// Min implements palette.ColorMap.
func (m *accuracyColors) Min() float64 { return m.min }

// SetMin implements palette.ColorMap.
func (m *accuracyColors) SetMin(v float64) { m.min = v }

// Alpha implements palette.ColorMap.
func (m *accuracyColors) Alpha() float64 { return m.ramp.Alpha() }

// SetAlpha implements palette.ColorMap.
func (m *accuracyColors) SetAlpha(a float64) { m.ramp.SetAlpha(a) }

// Palette implements palette.ColorMap with n colours from Min to Max.
func (m *accuracyColors) Palette(n int) palette.Palette {
	return palette.Reverse(m.ramp).Palette(n)
}
