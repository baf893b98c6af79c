package roles

import "testing"

func TestLiRoles(t *testing.T) {
	titles := map[Role]string{LiNone: "None", LiNeuralModel: "Neural (model)", LiNeuralData: "Neural (data)", LiShuffle: "Shuffle", LiVGG: "VGG"}
	for _, r := range Li() {
		got, err := ParseLi(string(r))
		if err != nil || got != r || r.Title() != titles[r] || !r.IsLi() || r.NeedsV1() || !r.Classifies() {
			t.Errorf("%s: parsed %v (%v), title %q, IsLi %v, NeedsV1 %v", r, got, err, r.Title(), r.IsLi(), r.NeedsV1())
		}
		if _, err := Parse(string(r)); err == nil {
			t.Errorf("%s is not a model of Table 1, but Parse accepts it", r)
		}
	}
	if _, err := ParseLi("baseline"); err == nil || Baseline.IsLi() {
		t.Error("baseline is not a regularizer")
	}
}
