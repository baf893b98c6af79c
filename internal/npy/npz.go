package npy

import (
	"archive/zip"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

// Entry is one named member of an .npz archive. Name excludes the ".npy"
// suffix, as numpy.load's keys do.
type Entry struct {
	Name  string
	Array *Array
}

// ReadNPZ reads every member of the .npz archive at path (stored or
// deflated), keyed by member name without the ".npy" suffix. Errors name
// the file and the member.
func ReadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s as .npz: %w", path, err)
	}
	defer zr.Close()
	out := make(map[string]*Array, len(zr.File))
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		a, err := readMember(f)
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", path, f.Name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: member %q appears twice", path, f.Name)
		}
		out[name] = a
	}
	return out, nil
}

func readMember(f *zip.File) (*Array, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	a, err := Read(rc)
	if err != nil {
		return nil, err
	}
	// Drain so the zip reader verifies the CRC-32 of the member.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, err
	}
	return a, nil
}

// WriteNPZTo writes entries as an .npz archive to w, in the given order,
// deflated when compress is true (numpy.savez_compressed) and stored
// otherwise (numpy.savez). Member timestamps are fixed so that equal
// inputs give byte-identical archives.
func WriteNPZTo(w io.Writer, entries []Entry, compress bool) error {
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.Name == "" || seen[e.Name] {
			return fmt.Errorf("npz member name %q is empty or repeated", e.Name)
		}
		seen[e.Name] = true
		if err := e.Array.Check(); err != nil {
			return fmt.Errorf("npz member %q: %w", e.Name, err)
		}
	}
	zw := zip.NewWriter(w)
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	for _, e := range entries {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name + ".npy", Method: method})
		if err != nil {
			return fmt.Errorf("npz member %q: %w", e.Name, err)
		}
		if err := Write(fw, e.Array); err != nil {
			return fmt.Errorf("npz member %q: %w", e.Name, err)
		}
	}
	return zw.Close()
}

// WriteNPZ atomically writes entries to path as an .npz archive (see
// WriteNPZTo).
func WriteNPZ(path string, entries []Entry, compress bool) error {
	return atomicfile.Write(path, func(w io.Writer) error { return WriteNPZTo(w, entries, compress) })
}

// SortedNames returns the keys of an archive read by ReadNPZ in sorted
// order.
func SortedNames(m map[string]*Array) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// NPZ is an open .npz archive whose members are read one at a time.
type NPZ struct {
	path    string
	zr      *zip.ReadCloser
	members map[string]*zip.File
}

// OpenNPZ opens the .npz archive at path for reading member by member.
func OpenNPZ(path string) (*NPZ, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s as .npz: %w", path, err)
	}
	z := &NPZ{path: path, zr: zr, members: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := z.members[name]; dup {
			zr.Close()
			return nil, fmt.Errorf("%s: member %q appears twice", path, f.Name)
		}
		z.members[name] = f
	}
	return z, nil
}

// Close closes the archive.
func (z *NPZ) Close() error { return z.zr.Close() }

// Names returns the member names (without ".npy") in sorted order.
func (z *NPZ) Names() []string {
	names := make([]string, 0, len(z.members))
	for k := range z.members {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the archive has a member of that name.
func (z *NPZ) Has(name string) bool { _, ok := z.members[name]; return ok }

// Read reads one member. Errors name the file and the member.
func (z *NPZ) Read(name string) (*Array, error) {
	f, ok := z.members[name]
	if !ok {
		return nil, fmt.Errorf("%s: no member %q", z.path, name)
	}
	a, err := readMember(f)
	if err != nil {
		return nil, fmt.Errorf("%s: member %q: %w", z.path, f.Name, err)
	}
	return a, nil
}

// ReadRows reads the rows (first-axis entries) of one member for which
// keep is true, streaming past the others, so that only the kept rows are
// ever held: the result has shape [count of kept, rest of the shape...].
func (z *NPZ) ReadRows(name string, keep []bool) (*Array, error) {
	f, ok := z.members[name]
	if !ok {
		return nil, fmt.Errorf("%s: no member %q", z.path, name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: member %q: %w", z.path, f.Name, err)
	}
	defer rc.Close()
	a, err := readRows(rc, keep)
	if err != nil {
		return nil, fmt.Errorf("%s: member %q: %w", z.path, f.Name, err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil { // verify the CRC
		return nil, fmt.Errorf("%s: member %q: %w", z.path, f.Name, err)
	}
	return a, nil
}
