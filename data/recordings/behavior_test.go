package recordings

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/internal/npy"
)

// withBehavior adds behaviour and a validation mask to session a of
// sample().
func withBehavior() *Recordings {
	r := sample()
	s := &r.Sessions[0]
	s.Behavior = &Behavior{
		PupilCenter: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		PupilSize:   []float32{0.1, 0.2, 0.3, 0.4, 0.5},
		Running:     []float32{0, 1, 2, 3, 4},
	}
	s.Validation = []bool{false, true, false, false, false}
	return r
}

func TestBehaviorRoundTrip(t *testing.T) {
	r := withBehavior()
	path := filepath.Join(t.TempDir(), "rec.npz")
	if err := Save(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Sessions[0].Behavior, r.Sessions[0].Behavior) || got.Sessions[1].Behavior != nil {
		t.Fatalf("behaviour: got %+v / %+v", got.Sessions[0].Behavior, got.Sessions[1].Behavior)
	}
	if !reflect.DeepEqual(got.Sessions[0].Validation, r.Sessions[0].Validation) {
		t.Fatalf("validation: got %v", got.Sessions[0].Validation)
	}
	if e := got.Sessions[0].Behavior.Eye(2); e != [2]float32{5, 6} {
		t.Errorf("Eye(2) = %v", e)
	}
	if m := got.Sessions[0].Behavior.Modulators(3); m != [2]float32{0.4, 3} {
		t.Errorf("Modulators(3) = %v", m)
	}
	// The mask decides session a's split; session b keeps the id split.
	train, val := got.TrainValidation(0.5, 3)
	if !reflect.DeepEqual(train[0], []int{0}) || !reflect.DeepEqual(val[0], []int{1}) {
		t.Errorf("session a: train %v val %v, want [0] [1]", train[0], val[0])
	}
	_, wantVal := sample().TrainValidation(0.5, 3)
	if !reflect.DeepEqual(val[1], wantVal[1]) {
		t.Errorf("session b: val %v, want %v", val[1], wantVal[1])
	}
}

func TestBehaviorErrors(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(r *Recordings)
		want   string
	}{
		{"short pupil", func(r *Recordings) { r.Sessions[0].Behavior.PupilSize = r.Sessions[0].Behavior.PupilSize[:4] }, "session_000/pupil_size: 4 values for 5 trials"},
		{"nan running", func(r *Recordings) { r.Sessions[0].Behavior.Running[2] = float32(nan()) }, "session_000/running_speed: trial 2 is NaN"},
		{"odd centre", func(r *Recordings) { r.Sessions[0].Behavior.PupilCenter = r.Sessions[0].Behavior.PupilCenter[:9] }, "session_000/pupil_center"},
		{"test and validation", func(r *Recordings) { r.Sessions[0].Validation[3] = true }, "trial 3 is marked both test and validation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := withBehavior()
			c.break_(r)
			err := Save(filepath.Join(t.TempDir(), "x.npz"), r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v should contain %q", err, c.want)
			}
		})
	}
	// One behaviour member without the others.
	good := filepath.Join(t.TempDir(), "good.npz")
	if err := Save(good, withBehavior()); err != nil {
		t.Fatal(err)
	}
	arrays, err := npy.ReadNPZ(good)
	if err != nil {
		t.Fatal(err)
	}
	delete(arrays, "session_000/running_speed")
	var entries []npy.Entry
	for _, k := range npy.SortedNames(arrays) {
		entries = append(entries, npy.Entry{Name: k, Array: arrays[k]})
	}
	bad := filepath.Join(t.TempDir(), "bad.npz")
	if err := npy.WriteNPZ(bad, entries, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "session_000/running_speed is missing") || !strings.Contains(err.Error(), bad) {
		t.Errorf("partial behaviour: error %v", err)
	}
}

func TestLoadTestOnly(t *testing.T) {
	r := withBehavior()
	path := filepath.Join(t.TempDir(), "rec.npz")
	if err := Save(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := LoadWith(path, LoadOptions{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	a := &got.Sessions[0]
	if a.Trials != 3 || !reflect.DeepEqual(a.ImageIndex, []int{3, 3, 3}) || !reflect.DeepEqual(a.Responses, []float32{5, 6, 7, 8, 9, 10}) ||
		!reflect.DeepEqual(a.Behavior.PupilSize, []float32{0.3, 0.4, 0.5}) || !reflect.DeepEqual(a.Behavior.Eye(0), [2]float32{5, 6}) ||
		!reflect.DeepEqual(a.Validation, []bool{false, false, false}) {
		t.Errorf("session a: %+v, behaviour %+v", a, a.Behavior)
	}
	b := &got.Sessions[1]
	if b.Trials != 2 || !reflect.DeepEqual(b.Valid, []bool{false, true}) || !reflect.DeepEqual(b.Responses, []float32{1.5, 2.5}) {
		t.Errorf("session b: %+v", b)
	}
	if got.Images.N != 4 {
		t.Errorf("%d images kept, want all 4", got.Images.N)
	}
	// A corrupt file still names itself.
	if _, err := LoadWith(filepath.Join(t.TempDir(), "absent.npz"), LoadOptions{TestOnly: true}); err == nil || !strings.Contains(err.Error(), "absent.npz") {
		t.Errorf("missing file: %v", err)
	}
}
