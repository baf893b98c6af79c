package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"

	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/internal/pickle"
)

// zipAlign is the alignment of storage data in the archive, as torch.save
// aligns it (so that loaders may map it in place).
const zipAlign = 64

// WriteFile writes sd atomically to path in the zip format of torch.save
// (PyTorch ≥ 1.6): torch.load(path) returns an OrderedDict of CPU tensors
// that load_state_dict accepts.
func WriteFile(path string, sd *StateDict) error {
	for _, name := range sd.Names {
		if err := sd.Tensors[name].check(); err != nil {
			return fmt.Errorf("writing %s: tensor %s: %w", path, name, err)
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error { return writeZip(w, sd) })
}

// writeZip writes the archive: archive/data.pkl, archive/data/<i> for
// tensor i, archive/version and archive/byteorder, every entry stored.
func writeZip(w io.Writer, sd *StateDict) error {
	zw := zip.NewWriter(w)
	var offset int64
	add := func(name string, data []byte) error {
		// Pad the local header's extra field so the data starts aligned.
		start := offset + 30 + int64(len(name)) + 4
		pad := (zipAlign - start%zipAlign) % zipAlign
		extra := make([]byte, 4+pad)
		binary.LittleEndian.PutUint16(extra, 0x4246) // "FB", the id torch uses for padding
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		for i := 4; i < len(extra); i++ {
			extra[i] = 'Z'
		}
		h := &zip.FileHeader{Name: name, Method: zip.Store, Extra: extra, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))}
		fw, err := zw.CreateRaw(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
		offset += 30 + int64(len(name)) + int64(len(extra)) + int64(len(data))
		return nil
	}
	if err := add("archive/data.pkl", picklestateDict(sd)); err != nil {
		return err
	}
	for i, name := range sd.Names {
		if err := add("archive/data/"+strconv.Itoa(i), sd.Tensors[name].Data); err != nil {
			return err
		}
	}
	if err := add("archive/version", []byte("3\n")); err != nil {
		return err
	}
	if err := add("archive/byteorder", []byte("little")); err != nil {
		return err
	}
	return zw.Close()
}

// pickler writes pickle protocol 2 opcodes.
type pickler struct{ bytes.Buffer }

func (p *pickler) op(op byte) { p.WriteByte(op) }

func (p *pickler) global(module, name string) {
	p.op(pickle.OpGlobal)
	p.WriteString(module + "\n" + name + "\n")
}

func (p *pickler) str(s string) {
	p.op(pickle.OpBinUnicode)
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	p.Write(n[:])
	p.WriteString(s)
}

func (p *pickler) int(v int64) {
	switch {
	case v >= 0 && v < 256:
		p.op(pickle.OpBinInt1)
		p.WriteByte(byte(v))
	case v >= 0 && v < 65536:
		p.op(pickle.OpBinInt2)
		var b [2]byte
		binary.LittleEndian.PutUint16(b[:], uint16(v))
		p.Write(b[:])
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.op(pickle.OpBinInt)
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(int32(v)))
		p.Write(b[:])
	default:
		p.op(pickle.OpLong1)
		p.WriteByte(8)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		p.Write(b[:])
	}
}

func (p *pickler) ints(vs []int) {
	p.op(pickle.OpMark)
	for _, v := range vs {
		p.int(int64(v))
	}
	p.op(pickle.OpTuple)
}

// emptyOrderedDict pushes collections.OrderedDict().
func (p *pickler) emptyOrderedDict() {
	p.global("collections", "OrderedDict")
	p.op(pickle.OpEmptyTuple)
	p.op(pickle.OpReduce)
}

// picklestateDict pickles sd as torch.save pickles a state dict: an
// OrderedDict of _rebuild_tensor_v2(storage, 0, size, stride, False,
// OrderedDict()), storage i being the persistent id ('storage',
// torch.XStorage, "i", "cpu", numel).
func picklestateDict(sd *StateDict) []byte {
	p := &pickler{}
	p.op(pickle.OpProto)
	p.WriteByte(2)
	p.emptyOrderedDict()
	for i, name := range sd.Names {
		t := sd.Tensors[name]
		info, _ := lookupDType(func(d dtypeInfo) bool { return d.dtype == t.DType })
		p.op(pickle.OpMark)
		p.str(name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op(pickle.OpMark)
		// The persistent id of the storage.
		p.op(pickle.OpMark)
		p.str("storage")
		p.global("torch", info.storage)
		p.str(strconv.Itoa(i))
		p.str("cpu")
		p.int(int64(t.Len()))
		p.op(pickle.OpTuple)
		p.op(pickle.OpBinPersID)
		p.int(0)
		p.ints(t.Shape)
		stride := make([]int, len(t.Shape))
		s := 1
		for j := len(t.Shape) - 1; j >= 0; j-- {
			stride[j] = s
			s *= t.Shape[j]
		}
		p.ints(stride)
		p.op(pickle.OpNewFalse)
		p.emptyOrderedDict()
		p.op(pickle.OpTuple)
		p.op(pickle.OpReduce)
		p.op(pickle.OpSetItems)
	}
	p.op(pickle.OpStop)
	return p.Bytes()
}
