package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadIDX(t *testing.T) {
	tests := []struct {
		name     string
		raw      []byte
		wantDims []int
		wantData []uint8
		wantErr  string
	}{
		{"2x3 matrix",
			[]byte{0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6},
			[]int{2, 3}, []uint8{1, 2, 3, 4, 5, 6}, ""},
		{"labels vector",
			[]byte{0, 0, 8, 1, 0, 0, 0, 4, 9, 0, 3, 7},
			[]int{4}, []uint8{9, 0, 3, 7}, ""},
		{"big-endian dimension",
			append([]byte{0, 0, 8, 1, 0, 0, 1, 2}, make([]byte, 258)...),
			[]int{258}, make([]uint8, 258), ""},
		{"bad magic", []byte{1, 0, 8, 1, 0, 0, 0, 0}, nil, nil, "not an IDX file"},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, nil, nil, "not supported"},
		{"truncated data", []byte{0, 0, 8, 1, 0, 0, 0, 5, 1, 2}, nil, nil, "reading 5 IDX data bytes"},
		{"truncated header", []byte{0, 0, 8, 2, 0, 0, 0, 5}, nil, nil, "dimension 1"},
		{"absurd size", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, nil, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadIDX(bytes.NewReader(tc.raw))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Dims, tc.wantDims) || !slices.Equal(m.Data, tc.wantData) {
				t.Errorf("got %v %v; want %v %v", m.Dims, m.Data, tc.wantDims, tc.wantData)
			}
		})
	}
}

func TestReadIDXFileGzip(t *testing.T) {
	raw := []byte{0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9}
	dir := t.TempDir()
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(raw)
	zw.Close()
	for name, content := range map[string][]byte{"plain": raw, "labels.gz": zbuf.Bytes()} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadIDXFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Data, []uint8{7, 8, 9}) {
			t.Errorf("%s: data %v", name, m.Data)
		}
	}
	_, err := ReadIDXFile(filepath.Join(dir, "absent"))
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("missing file error %v does not name it", err)
	}
}
