package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// IDX is an array read from an IDX file (the MNIST / Fashion-MNIST format)
// of unsigned bytes: Data holds the elements in row-major order and Dims the
// size of each dimension.
type IDX struct {
	Dims []int
	Data []uint8
}

// idxUint8 is the IDX type code of unsigned bytes, the only one the MNIST
// family uses.
const idxUint8 = 0x08

// maxIDXElements bounds the size an IDX header may announce (4 GiB), so a
// damaged header cannot make the reader allocate without limit.
const maxIDXElements = 1 << 32

// ReadIDX reads an IDX array of unsigned bytes: a 4-byte magic number (two
// zero bytes, the type code 0x08, the number of dimensions), one big-endian
// uint32 per dimension, then the data.
func ReadIDX(r io.Reader) (IDX, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return IDX{}, fmt.Errorf("reading IDX magic number: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return IDX{}, fmt.Errorf("not an IDX file: magic number % x does not start with two zero bytes", magic)
	}
	if magic[2] != idxUint8 {
		return IDX{}, fmt.Errorf("IDX type code 0x%02x is not supported; want 0x08 (unsigned byte)", magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return IDX{}, fmt.Errorf("IDX file has no dimensions")
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return IDX{}, fmt.Errorf("reading IDX dimension %d: %w", i, err)
		}
		dims[i] = int(d)
		if d != 0 && total > maxIDXElements/int(d) {
			return IDX{}, fmt.Errorf("IDX dimensions %v announce more than %d elements", dims[:i+1], maxIDXElements)
		}
		total *= int(d)
	}
	data := make([]uint8, total)
	if _, err := io.ReadFull(r, data); err != nil {
		return IDX{}, fmt.Errorf("reading %d IDX data bytes (dimensions %v): %w", total, dims, err)
	}
	return IDX{Dims: dims, Data: data}, nil
}

// ReadIDXFile reads an IDX file, gunzipping it first if it is gzip
// compressed (recognized by its content, not its name).
func ReadIDXFile(path string) (IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return IDX{}, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return IDX{}, fmt.Errorf("reading %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	m, err := ReadIDX(r)
	if err != nil {
		return IDX{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return m, nil
}
