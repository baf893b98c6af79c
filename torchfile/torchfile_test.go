package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/internal/pickle"
)

// expectedTensor is one entry of testdata/expected.json (PyTorch's values).
type expectedTensor struct {
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

func readExpected(t *testing.T) map[string]expectedTensor {
	t.Helper()
	raw, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]expectedTensor
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// checkAgainst compares a state dict with PyTorch's values, exactly.
func checkAgainst(t *testing.T, sd *StateDict, want map[string]expectedTensor) {
	t.Helper()
	if len(sd.Names) != len(want) {
		t.Errorf("%d tensors %v, want %d", len(sd.Names), sd.Names, len(want))
	}
	for name, w := range want {
		got, ok := sd.Tensors[name]
		if !ok {
			t.Errorf("tensor %s missing", name)
			continue
		}
		if string(got.DType) != w.DType || !equalInts(got.Shape, w.Shape) {
			t.Errorf("%s: %s %v, want %s %v", name, got.DType, got.Shape, w.DType, w.Shape)
			continue
		}
		vals, err := got.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, v := range vals {
			if float64(v) != float64(float32(w.Values[i])) {
				t.Errorf("%s[%d] = %v, want %v", name, i, v, w.Values[i])
				break
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReadPyTorchFiles reads what torch.save wrote, in both formats and
// from a checkpoint dict, and the legacy format of PyTorch before 0.4, and
// compares every element with PyTorch's.
func TestReadPyTorchFiles(t *testing.T) {
	want := readExpected(t)
	for _, tc := range []struct {
		file, key, wantKey, format string
	}{
		{"state_zip.pt", "", "", "zip"},
		{"state_legacy.pt", "", "", "legacy"},
		{"checkpoint.pt", "", "model_state_dict", "zip"},
		{"checkpoint.pt", "model_state_dict", "model_state_dict", "zip"},
		{"state_pre04.pt", "", "", "legacy"},
	} {
		t.Run(tc.file+"/"+tc.key, func(t *testing.T) {
			l, err := ReadFile(filepath.Join("testdata", tc.file), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if l.Key != tc.wantKey || l.Format != tc.format {
				t.Errorf("key %q format %s, want %q %s", l.Key, l.Format, tc.wantKey, tc.format)
			}
			if tc.file == "state_pre04.pt" { // four of the tensors
				sub := map[string]expectedTensor{}
				for _, k := range []string{"conv.weight", "conv.bias", "bn.num_batches_tracked", "transposed"} {
					sub[k] = want[k]
				}
				checkAgainst(t, l.StateDict, sub)
				return
			}
			checkAgainst(t, l.StateDict, want)
		})
	}
}

// TestRoundTrip writes the fixture's state dict and reads it back.
func TestRoundTrip(t *testing.T) {
	l, err := ReadFile("testdata/state_zip.pt", "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pt, st := filepath.Join(dir, "out.pt"), filepath.Join(dir, "out.safetensors")
	if err := WriteFile(pt, l.StateDict); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(st, l.StateDict, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(pt, "")
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, back.StateDict, readExpected(t))
	if !equalStrings(back.Names, l.Names) {
		t.Errorf("order %v, want %v", back.Names, l.Names)
	}
	sback, err := ReadSafetensorsFile(st)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, sback, readExpected(t))
	// The stored entries start on 64-byte boundaries, as torch.save's do.
	zr, err := zip.OpenReader(pt)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if off%zipAlign != 0 {
			t.Errorf("%s data at offset %d, not %d-aligned", f.Name, off, zipAlign)
		}
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// python is Debian's interpreter with torch, or "" (the test skips).
func python(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s with torch is not available (%v): install python3-torch to check files against torch.load", py, err)
	}
	return py
}

// TestTorchLoadsWrittenFiles has PyTorch read what WriteFile wrote (with
// torch.load, with weights_only=True: its restricted unpickler) and what
// WriteSafetensors wrote (with a reader of the format
// written for this test: 8-byte header length, JSON header, raw data), and
// compare them with the values torch.save stored in the fixture.
func TestTorchLoadsWrittenFiles(t *testing.T) {
	py := python(t)
	l, err := ReadFile("testdata/state_zip.pt", "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pt, st := filepath.Join(dir, "out.pt"), filepath.Join(dir, "out.safetensors")
	if err := WriteFile(pt, l.StateDict); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(st, l.StateDict, nil); err != nil {
		t.Fatal(err)
	}
	script := `
import json, struct, sys, torch
from collections import OrderedDict
ref = torch.load("testdata/state_zip.pt")
got = torch.load(sys.argv[1], weights_only=True)
assert isinstance(got, OrderedDict), type(got)
assert list(got) == list(ref), (list(got), list(ref))
for k in ref:
    assert got[k].dtype == ref[k].dtype and got[k].shape == ref[k].shape, k
    assert torch.equal(got[k], ref[k].detach()), k
DT = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
      "I64": torch.int64, "BOOL": torch.bool}
raw = open(sys.argv[2], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
for k in ref:
    e = header[k]
    lo, hi = e["data_offsets"]
    t = torch.frombuffer(bytearray(body[lo:hi]), dtype=DT[e["dtype"]]).reshape(e["shape"])
    assert torch.equal(t, ref[k].detach()), k
print("ok", len(ref))
`
	out, err := exec.Command(py, "-c", script, pt, st).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch rejected the files: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "ok") {
		t.Errorf("unexpected output %s", out)
	}
}

// zipWith builds a torch-style zip archive from the given entries.
func zipWith(t testing.TB, entries map[string][]byte, order ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range order {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(entries[name])
	}
	zw.Close()
	return b.Bytes()
}

// onePickle is a pickle of {"w": tensor of a FloatStorage of numel
// elements, shape [n]}.
func onePickle(numel, n int64) []byte {
	p := &pickler{}
	p.op(pickle.OpProto)
	p.WriteByte(2)
	p.op(pickle.OpEmptyDict)
	p.op(pickle.OpMark)
	p.str("w")
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op(pickle.OpMark)
	p.op(pickle.OpMark)
	p.str("storage")
	p.global("torch", "FloatStorage")
	p.str("0")
	p.str("cpu")
	p.int(numel)
	p.op(pickle.OpTuple)
	p.op(pickle.OpBinPersID)
	p.int(0)
	p.ints([]int{int(n)})
	p.ints([]int{1})
	p.op(pickle.OpNewFalse)
	p.emptyOrderedDict()
	p.op(pickle.OpTuple)
	p.op(pickle.OpReduce)
	p.op(pickle.OpSetItems)
	p.op(pickle.OpStop)
	return p.Bytes()
}

// TestMalformed checks that damaged and hostile files are rejected with an
// error that names the file and says what is wrong, allocating no more
// than the input's size allows.
func TestMalformed(t *testing.T) {
	good, err := os.ReadFile("testdata/state_zip.pt")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile("testdata/state_legacy.pt")
	if err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile("testdata/evil_global.pt")
	if err != nil {
		t.Fatal(err)
	}
	eval := []byte("\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.")
	system := []byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.")
	stackGlobal := []byte("\x80\x04\x8c\x02os\x8c\x06system\x93.")
	data := make([]byte, 16)
	huge := onePickle(1<<40, 1<<40)
	// A pickle whose string claims 4 GiB.
	longString := []byte("\x80\x02X\xff\xff\xff\xffab.")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a torch.save file"},
		{"text", []byte("hello, world"), "not a torch.save file"},
		{"truncated zip", good[:len(good)/2], "truncated or damaged"},
		{"truncated legacy", legacy[:len(legacy)-40], "more than the"},
		{"cut legacy pickle", legacy[:200], "truncated"},
		{"os.system", evil, "global posix.system is not allowed"},
		{"os.system by GLOBAL", zipWith(t, map[string][]byte{"a/data.pkl": system}, "a/data.pkl"), "global os.system is not allowed"},
		{"os.system by STACK_GLOBAL", zipWith(t, map[string][]byte{"a/data.pkl": stackGlobal}, "a/data.pkl"), "global os.system is not allowed"},
		{"legacy os.system", system, "global os.system is not allowed"},
		{"builtins.eval", zipWith(t, map[string][]byte{"a/data.pkl": eval}, "a/data.pkl"), "global builtins.eval is not allowed"},
		{"huge storage", zipWith(t, map[string][]byte{"a/data.pkl": huge, "a/data/0": data}, "a/data.pkl", "a/data/0"), "declares 1099511627776 elements"},
		{"tensor larger than its storage", zipWith(t, map[string][]byte{"a/data.pkl": onePickle(4, 5), "a/data/0": data}, "a/data.pkl", "a/data/0"), "more elements than its storage"},
		{"missing storage", zipWith(t, map[string][]byte{"a/data.pkl": onePickle(4, 4)}, "a/data.pkl"), "no entry a/data/0"},
		{"long string", zipWith(t, map[string][]byte{"a/data.pkl": longString}, "a/data.pkl"), "runs past the end"},
		{"no data.pkl", zipWith(t, map[string][]byte{"x": data}, "x"), "no <name>/data.pkl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Read("model.pt", tc.data, "")
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("accepted")
			}
			// Memory stays bounded by the input, whatever the file declares.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20+8*uint64(len(tc.data)) {
				t.Errorf("allocated %d bytes for a %d-byte file", alloc, len(tc.data))
			}
			if !strings.Contains(err.Error(), "model.pt") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want the file name and %q", err, tc.want)
			}
		})
	}
	// The os.system global is reported on POSIX as posix.system; the
	// pickle names it so, whichever platform wrote it.
	if !bytes.Contains(evil, []byte("posix\nsystem")) {
		t.Errorf("fixture evil_global.pt does not name posix.system")
	}
}

// TestMalformedSafetensors checks the safetensors reader's bounds.
func TestMalformedSafetensors(t *testing.T) {
	header := func(h string, body int) []byte {
		b := make([]byte, 8, 8+len(h)+body)
		binary.LittleEndian.PutUint64(b, uint64(len(h)))
		return append(append(b, h...), make([]byte, body)...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2}, "shorter than"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "runs past"},
		{"range outside", header(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "outside"},
		{"shape mismatch", header(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, 16), "needs 12 bytes"},
		{"huge shape", header(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}`, 16), "does not fit"},
		{"bad dtype", header(`{"w":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}`, 16), "unsupported dtype"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadSafetensors(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzRead feeds arbitrary bytes to the reader: it must return a state
// dict or an error, never panic, and never allocate beyond the input's
// bounds. The seeds are the PyTorch fixtures and the malformed cases.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"state_zip.pt", "state_legacy.pt", "checkpoint.pt", "evil_global.pt", "state_pre04.pt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(zipWith(f, map[string][]byte{"a/data.pkl": onePickle(4, 4), "a/data/0": make([]byte, 16)}, "a/data.pkl", "a/data/0"))
	f.Add(onePickle(4, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read("fuzz.pt", data, "")
		if err != nil {
			return
		}
		for _, name := range l.Names {
			if err := l.Tensors[name].check(); err != nil {
				t.Fatalf("tensor %s accepted but inconsistent: %v", name, err)
			}
		}
	})
}

// FuzzReadSafetensors does the same for the safetensors reader.
func FuzzReadSafetensors(f *testing.F) {
	l, err := ReadFile("testdata/state_zip.pt", "")
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "seed.safetensors")
	if err := WriteSafetensors(path, l.StateDict, map[string]string{"a": "b"}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := ReadSafetensors(data)
		if err != nil {
			return
		}
		for _, name := range sd.Names {
			if err := sd.Tensors[name].check(); err != nil {
				t.Fatalf("tensor %s accepted but inconsistent: %v", name, err)
			}
		}
	})
}
