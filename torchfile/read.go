package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/cotrain/cotrain/internal/pickle"
)

// Limits on what a file may declare.
const (
	// maxPickle is the largest pickle stream (data.pkl) read; a state dict's
	// pickle holds only names, shapes and storage keys.
	maxPickle = 1 << 30
	// maxDeflateRatio bounds the size a deflated zip entry may claim
	// relative to its compressed size (deflate cannot expand beyond about
	// 1032:1).
	maxDeflateRatio = 1032
	// tensorBudget bounds the bytes of all tensors relative to the bytes of
	// all storages: tensors that share storages (tied weights, views) are
	// copied, but no more than this many times over.
	tensorBudget = 4
)

// legacyMagic is the number the legacy (pre-1.6) format starts with.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// legacyProtocol is the legacy format's protocol version.
const legacyProtocol = 1001

// Loaded is what Read found: the state dict, and the key of the enclosing
// checkpoint dict it came from ("" when the file is the state dict itself).
type Loaded struct {
	*StateDict
	// Key is the entry of the top-level dict that held the state dict.
	Key string
	// Format is "zip" or "legacy".
	Format string
}

// ReadFile reads the state dict in the torch.save file at path. A file
// whose top-level object is a dict of tensors is the state dict; otherwise
// key names the entry of the top-level dict that holds it (for a training
// checkpoint such as {"model_state_dict": …, "epoch": …}), and an empty key
// picks the only entry that is a dict of tensors.
func ReadFile(path, key string) (*Loaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading PyTorch file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading PyTorch file: %w", err)
	}
	l, err := read(f, st.Size(), key)
	if err != nil {
		return nil, fmt.Errorf("reading PyTorch file %s: %w", path, err)
	}
	return l, nil
}

// Read is ReadFile on the bytes of a file; name labels errors.
func Read(name string, data []byte, key string) (*Loaded, error) {
	l, err := read(bytes.NewReader(data), int64(len(data)), key)
	if err != nil {
		return nil, fmt.Errorf("reading PyTorch file %s: %w", name, err)
	}
	return l, nil
}

func read(r io.ReaderAt, size int64, key string) (*Loaded, error) {
	head := make([]byte, 512)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return readZip(r, size, key)
	case len(head) > 0 && head[0] == pickle.OpProto:
		if size > 1<<40 {
			return nil, fmt.Errorf("a legacy file of %d bytes is too large", size)
		}
		data := make([]byte, size)
		if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return readLegacy(data, key)
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return nil, errors.New("this is the tar format of PyTorch before 0.4, which is not supported; load it with that PyTorch and save it again with torch.save")
	}
	return nil, errors.New("not a torch.save file (neither a zip archive nor a legacy pickle); is it a safetensors, TorchScript or ONNX file?")
}

// readZip reads the zip format: <prefix>/data.pkl, <prefix>/data/<key>,
// <prefix>/version, and in newer files <prefix>/byteorder.
func readZip(r io.ReaderAt, size int64, key string) (*Loaded, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("the zip archive is truncated or damaged (%v); was torch.save or the download interrupted?", err)
	}
	entries := map[string]*zip.File{}
	prefix := ""
	for _, f := range zr.File {
		entries[f.Name] = f
		if dir, base := path.Split(f.Name); base == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			prefix = dir
		}
	}
	if prefix == "" {
		return nil, errors.New("the zip archive has no <name>/data.pkl: it is not a torch.save file (a TorchScript archive holds code, not a state dict)")
	}
	if f, ok := entries[prefix+"byteorder"]; ok {
		b, err := readEntry(f, size, 16)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("the tensors are stored %s-endian; only little-endian files are supported", b)
		}
	}
	pkl, err := readEntry(entries[prefix+"data.pkl"], size, maxPickle)
	if err != nil {
		return nil, err
	}
	storages := map[string]*storageRef{}
	u := newMachine(pkl)
	u.Persistent = func(pid any) (any, error) { return registerStorage(storages, pid) }
	root, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("%sdata.pkl: %w", prefix, err)
	}
	sd, found, err := findStateDict(root, key)
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	load := func(s *storageRef) ([]byte, error) {
		if b, ok := data[s.key]; ok {
			return b, nil
		}
		name := prefix + "data/" + s.key
		f, ok := entries[name]
		if !ok {
			return nil, fmt.Errorf("storage %s: the archive has no entry %s", s.key, name)
		}
		want := uint64(s.numel) * uint64(s.dtype.size)
		if f.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %s declares %d elements of %s (%d bytes) but its entry %s holds %d bytes",
				s.key, s.numel, s.dtype.dtype, want, name, f.UncompressedSize64)
		}
		b, err := readEntry(f, size, want)
		if err != nil {
			return nil, err
		}
		data[s.key] = b
		return b, nil
	}
	out, err := materialize(sd, load)
	if err != nil {
		return nil, err
	}
	return &Loaded{StateDict: out, Key: found, Format: "zip"}, nil
}

// readEntry reads a zip entry whole, after checking that its declared
// size is plausible for its compressed size and the file's size, and at
// most limit.
func readEntry(f *zip.File, fileSize int64, limit uint64) ([]byte, error) {
	if f == nil {
		return nil, errors.New("missing zip entry")
	}
	n := f.UncompressedSize64
	switch {
	case n > limit:
		return nil, fmt.Errorf("zip entry %s declares %d bytes, more than the %d it may hold", f.Name, n, limit)
	case f.CompressedSize64 > uint64(fileSize):
		return nil, fmt.Errorf("zip entry %s declares %d compressed bytes in a file of %d bytes (truncated?)", f.Name, f.CompressedSize64, fileSize)
	case f.Method == zip.Store && n != f.CompressedSize64:
		return nil, fmt.Errorf("stored zip entry %s declares %d bytes but holds %d", f.Name, n, f.CompressedSize64)
	case f.Method == zip.Deflate && n > maxDeflateRatio*f.CompressedSize64+1024:
		return nil, fmt.Errorf("zip entry %s declares %d bytes from %d compressed ones, more than deflate can produce", f.Name, n, f.CompressedSize64)
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return nil, fmt.Errorf("zip entry %s uses compression method %d (only stored and deflated entries are read)", f.Name, f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("zip entry %s is truncated or damaged: %w", f.Name, err)
	}
	// Reading past the end checks the CRC.
	if _, err := rc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("more data than declared")
		}
		return nil, fmt.Errorf("zip entry %s is damaged: %w", f.Name, err)
	}
	return buf, nil
}

// registerStorage resolves a persistent id, making every reference to one
// key the same storage.
func registerStorage(storages map[string]*storageRef, pid any) (any, error) {
	s, err := storagePID(pid)
	if err != nil {
		return nil, err
	}
	if old, ok := storages[s.key]; ok {
		if old.dtype != s.dtype || old.numel != s.numel {
			return nil, fmt.Errorf("storage %s is declared twice, differently", s.key)
		}
		return old, nil
	}
	storages[s.key] = s
	return s, nil
}

// readLegacy reads the format of torch.save before PyTorch 1.6: pickles of
// the magic number, the protocol version, the system information, the
// object and the sorted storage keys, then each storage as its element
// count (int64) and its raw elements.
func readLegacy(data []byte, key string) (*Loaded, error) {
	u := newMachine(data)
	next := func(what string) (any, error) {
		v, err := u.Load()
		if err != nil {
			return nil, fmt.Errorf("legacy format, %s: %w", what, err)
		}
		return v, nil
	}
	magic, err := next("magic number")
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("a pickle, but not a torch.save file (wrong magic number)")
	}
	proto, err := next("protocol version")
	if err != nil {
		return nil, err
	}
	if proto != int64(legacyProtocol) {
		return nil, fmt.Errorf("legacy protocol version %v, want %d", describe(proto), legacyProtocol)
	}
	info, err := next("system information")
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pickle.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, errors.New("the file was written on a big-endian machine; only little-endian files are supported")
		}
	}
	storages := map[string]*storageRef{}
	u.Persistent = func(pid any) (any, error) { return registerStorage(storages, pid) }
	root, err := next("object")
	if err != nil {
		return nil, err
	}
	u.Persistent = nil
	keysV, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pickle.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: the storage keys are a %s, not a list", typeName(keysV))
	}
	raw := map[string][]byte{}
	for _, k := range keys.Items {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("legacy format: storage key %v is not a string", describe(k))
		}
		s, ok := storages[ks]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %s is listed but never used", ks)
		}
		b, err := u.Read(8)
		if err != nil {
			return nil, fmt.Errorf("legacy format: storage %s: the file ends before it", ks)
		}
		numel := int64(binary.LittleEndian.Uint64(b))
		if numel != s.numel {
			return nil, fmt.Errorf("legacy format: storage %s holds %d elements, its tensors declare %d", ks, numel, s.numel)
		}
		want := uint64(numel) * uint64(s.dtype.size)
		if numel < 0 || want > uint64(len(u.Data)-u.Pos) {
			return nil, fmt.Errorf("legacy format: storage %s declares %d elements of %s, more than the %d bytes left in the file", ks, numel, s.dtype.dtype, len(u.Data)-u.Pos)
		}
		raw[ks], _ = u.Read(int(want))
	}
	sd, found, err := findStateDict(root, key)
	if err != nil {
		return nil, err
	}
	out, err := materialize(sd, func(s *storageRef) ([]byte, error) {
		b, ok := raw[s.key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %s is not in the file", s.key)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return &Loaded{StateDict: out, Key: found, Format: "legacy"}, nil
}

// isTensorDict reports whether every value of d is a tensor.
func isTensorDict(d *pickle.Dict) bool {
	for _, v := range d.Values {
		if _, ok := v.(*tensorRef); !ok {
			return false
		}
	}
	return len(d.Values) > 0
}

// findStateDict picks the dict of tensors out of the file's object.
func findStateDict(root any, key string) (*pickle.Dict, string, error) {
	d, ok := root.(*pickle.Dict)
	if !ok {
		return nil, "", fmt.Errorf("the file holds a %s, not a state dict; save model.state_dict()", typeName(root))
	}
	var entries []string
	var candidates []string
	for i, k := range d.Keys {
		ks, _ := k.(string)
		entries = append(entries, fmt.Sprintf("%v (%s)", describe(k), typeName(d.Values[i])))
		if sub, ok := d.Values[i].(*pickle.Dict); ok && isTensorDict(sub) && ks != "" {
			candidates = append(candidates, ks)
		}
	}
	if key != "" {
		v, ok := d.Get(key)
		if !ok {
			return nil, "", fmt.Errorf("the file has no entry %q; its entries: %s", key, strings.Join(entries, ", "))
		}
		sub, ok := v.(*pickle.Dict)
		if !ok {
			return nil, "", fmt.Errorf("entry %q is a %s, not a state dict", key, typeName(v))
		}
		return sub, key, checkTensors(sub, key)
	}
	if isTensorDict(d) {
		return d, "", nil
	}
	if len(candidates) == 1 {
		sub, _ := d.Get(candidates[0])
		return sub.(*pickle.Dict), candidates[0], nil
	}
	if len(candidates) > 1 {
		return nil, "", fmt.Errorf("the file holds several state dicts (%s); choose one with --key", strings.Join(candidates, ", "))
	}
	return nil, "", checkTensors(d, "")
}

// checkTensors lists every entry of d that is not a tensor.
func checkTensors(d *pickle.Dict, key string) error {
	var bad []string
	for i, k := range d.Keys {
		if _, ok := d.Values[i].(*tensorRef); !ok {
			bad = append(bad, fmt.Sprintf("%s (%s)", describe(k), typeName(d.Values[i])))
		}
	}
	if len(bad) == 0 && len(d.Keys) > 0 {
		return nil
	}
	where := "the file's dict"
	if key != "" {
		where = fmt.Sprintf("entry %q", key)
	}
	if len(d.Keys) == 0 {
		return fmt.Errorf("%s is empty", where)
	}
	if len(bad) > 20 {
		bad = append(bad[:20], fmt.Sprintf("and %d more", len(bad)-20))
	}
	return fmt.Errorf("%s is not a state dict: these entries are not tensors: %s (choose the state dict with --key)", where, strings.Join(bad, ", "))
}

// materialize copies every tensor of d out of its storage.
func materialize(d *pickle.Dict, load func(*storageRef) ([]byte, error)) (*StateDict, error) {
	out := NewStateDict()
	var storageBytes, tensorBytes uint64
	seen := map[*storageRef]bool{}
	for i, k := range d.Keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %v is not a string", describe(k))
		}
		ref := d.Values[i].(*tensorRef)
		s := ref.storage
		raw, err := load(s)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		if !seen[s] {
			seen[s] = true
			storageBytes += uint64(len(raw))
		}
		t, err := ref.gather(raw)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		tensorBytes += uint64(len(t.Data))
		if tensorBytes > tensorBudget*storageBytes+1<<20 {
			return nil, fmt.Errorf("tensor %s: the tensors reuse their storages more than %d times over", name, tensorBudget)
		}
		out.Add(name, t)
	}
	return out, nil
}

// gather copies the tensor's elements out of its storage's bytes into a
// contiguous tensor, after checking that every element lies inside the
// storage.
func (t *tensorRef) gather(raw []byte) (*Tensor, error) {
	s := t.storage
	es := int64(s.dtype.size)
	if int64(len(raw)) != s.numel*es {
		return nil, fmt.Errorf("storage %s holds %d bytes, want %d", s.key, len(raw), s.numel*es)
	}
	numel := int64(1)
	for _, n := range t.size {
		if n == 0 {
			numel = 0
			break
		}
		if numel > s.numel/n {
			return nil, fmt.Errorf("shape %v has more elements than its storage %s (%d)", t.size, s.key, s.numel)
		}
		numel *= n
	}
	if numel > 0 {
		if t.offset >= s.numel {
			return nil, fmt.Errorf("offset %d lies past its storage %s (%d elements)", t.offset, s.key, s.numel)
		}
		last := t.offset // the largest element index the tensor reads
		for i, n := range t.size {
			st := t.stride[i]
			if n > 1 && st > 0 {
				if n-1 > (s.numel-1-last)/st {
					return nil, fmt.Errorf("shape %v, stride %v and offset %d run past its storage %s (%d elements)", t.size, t.stride, t.offset, s.key, s.numel)
				}
				last += (n - 1) * st
			}
		}
	}
	shape := make([]int, len(t.size))
	for i, n := range t.size {
		shape[i] = int(n)
	}
	out := &Tensor{DType: s.dtype.dtype, Shape: shape, Data: make([]byte, numel*es)}
	if numel == 0 {
		return out, nil
	}
	// Contiguous: one copy.
	contiguous := true
	want := int64(1)
	for i := len(t.size) - 1; i >= 0; i-- {
		if t.size[i] != 1 && t.stride[i] != want {
			contiguous = false
			break
		}
		want *= t.size[i]
	}
	if contiguous {
		copy(out.Data, raw[t.offset*es:(t.offset+numel)*es])
		return out, nil
	}
	idx := make([]int64, len(t.size))
	for j := int64(0); j < numel; j++ {
		src := t.offset
		for i, v := range idx {
			src += v * t.stride[i]
		}
		copy(out.Data[j*es:(j+1)*es], raw[src*es:(src+1)*es])
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < t.size[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}
