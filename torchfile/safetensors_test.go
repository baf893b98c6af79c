package torchfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

// TestSafetensorsLibrary checks the safetensors files against an
// independent implementation of the format (nlpodyssey/safetensors, a Go
// port of the reference library's validation): it reads what
// WriteSafetensors wrote, and ReadSafetensors reads what it writes.
func TestSafetensorsLibrary(t *testing.T) {
	l, err := ReadFile("testdata/state_zip.pt", "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.safetensors")
	if err := WriteSafetensors(path, l.StateDict, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(raw)
	if err != nil {
		t.Fatalf("the safetensors library rejects the file: %v", err)
	}
	if st.Len() != len(l.Names) {
		t.Errorf("%d tensors, want %d", st.Len(), len(l.Names))
	}
	views := map[string]safetensors.TensorView{}
	for _, name := range l.Names {
		want := l.Tensors[name]
		v, ok := st.Tensor(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		views[name] = v
		info, _ := lookupDType(func(d dtypeInfo) bool { return d.dtype == want.DType })
		if v.DType().String() != info.safetensors || len(v.Shape()) != len(want.Shape) || !bytes.Equal(v.Data(), want.Data) {
			t.Errorf("%s: %s %v, want %s %v (or different data)", name, v.DType(), v.Shape(), info.safetensors, want.Shape)
		}
		for i, d := range v.Shape() {
			if int(d) != want.Shape[i] {
				t.Errorf("%s: shape %v, want %v", name, v.Shape(), want.Shape)
			}
		}
	}
	// The other direction.
	out, err := safetensors.Serialize(views, map[string]string{"by": "library"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, back, readExpected(t))
}
