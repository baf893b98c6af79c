package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReadStrings decodes a .npy array of fixed-width strings: NumPy's unicode
// dtype "<Un" (UTF-32, n code points per element) or its bytes dtype "|Sn"
// (n bytes). Trailing NUL padding is removed, as NumPy does. Object arrays
// (dtype "O", pickled) are rejected with a note on how to re-save them.
func ReadStrings(r io.Reader) ([]string, []int, error) {
	br := bufio.NewReader(r)
	hdr, err := readHeader(br)
	if err != nil {
		return nil, nil, err
	}
	descr, fortran, shape, err := parseHeaderDescr(hdr)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing .npy header %q: %w", strings.TrimSpace(hdr), err)
	}
	if err := checkOrder(fortran, shape); err != nil {
		return nil, nil, err
	}
	order, code := descr[:1], descr[1:]
	if order != "<" && order != "|" && order != "=" && order != ">" {
		order, code = "|", descr
	}
	if code == "O" {
		return nil, nil, errors.New("object (pickled) arrays are not supported; save the strings with np.save(path, np.asarray(x, dtype=str))")
	}
	if len(code) < 2 || (code[0] != 'U' && code[0] != 'S') {
		return nil, nil, fmt.Errorf("dtype %q is not a string dtype (want <Un or |Sn)", descr)
	}
	width, err := strconv.Atoi(code[1:])
	if err != nil || width < 1 {
		return nil, nil, fmt.Errorf("bad string width in dtype %q", descr)
	}
	elem := width
	if code[0] == 'U' {
		elem = 4 * width
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n > 1<<32/elem {
		return nil, nil, fmt.Errorf("implausible array size %v", shape)
	}
	raw := make([]byte, n*elem)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, nil, fmt.Errorf("reading %d bytes of %s data for shape %v: %w", len(raw), descr, shape, truncated(err))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if order == ">" {
		bo = binary.BigEndian
	}
	out := make([]string, n)
	for i := range out {
		b := raw[i*elem : (i+1)*elem]
		if code[0] == 'S' {
			out[i] = strings.TrimRight(string(b), "\x00")
			continue
		}
		var sb strings.Builder
		for k := 0; k < width; k++ {
			c := rune(bo.Uint32(b[4*k:]))
			if c == 0 {
				break
			}
			if !utf8.ValidRune(c) {
				return nil, nil, fmt.Errorf("element %d holds an invalid code point %#x", i, c)
			}
			sb.WriteRune(c)
		}
		out[i] = sb.String()
	}
	return out, shape, nil
}

// ReadStringsFile reads the .npy string array at path (see ReadStrings).
// Errors name the file.
func ReadStringsFile(path string) ([]string, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	s, shape, err := ReadStrings(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, shape, nil
}
