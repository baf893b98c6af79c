package datatest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// CIFARRecord is one image of a miniature CIFAR folder as written: its
// labels (Coarse is CIFAR-100's superclass, 0 for CIFAR-10) and its 3,072
// pixel bytes in CIFAR's planar order (the red, green and blue planes, each
// 32×32 row-major).
type CIFARRecord struct {
	Coarse, Label int
	Planar        []byte
}

// WriteCIFARBinary writes a miniature binary CIFAR folder of random images
// into dir, in the layout of the downloaded archives: for CIFAR-10
// (hundred false, as cifar-10-batches-bin) data_batch_1.bin …
// data_batch_5.bin of perBatch images each and test_batch.bin of perBatch,
// each record one label byte and the pixels; for CIFAR-100 (as
// cifar-100-binary) train.bin of 5·perBatch and test.bin of perBatch, each
// record a coarse and a fine label byte and the pixels. It returns the
// training and test records in file order. Files are written directly
// rather than atomically: the fixture is test scaffolding.
func WriteCIFARBinary(dir string, hundred bool, perBatch int, seed uint64) (train, test []CIFARRecord, err error) {
	rng := rand.New(rand.NewPCG(seed, 10))
	record := func() CIFARRecord {
		r := CIFARRecord{Planar: make([]byte, 3072)}
		if hundred {
			r.Coarse, r.Label = rng.IntN(20), rng.IntN(100)
		} else {
			r.Label = rng.IntN(10)
		}
		for i := range r.Planar {
			r.Planar[i] = byte(rng.IntN(256))
		}
		return r
	}
	write := func(file string, n int) ([]CIFARRecord, error) {
		var buf []byte
		var recs []CIFARRecord
		for range n {
			r := record()
			if hundred {
				buf = append(buf, byte(r.Coarse))
			}
			buf = append(append(buf, byte(r.Label)), r.Planar...)
			recs = append(recs, r)
		}
		if err := os.WriteFile(filepath.Join(dir, file), buf, 0o644); err != nil {
			return nil, fmt.Errorf("datatest: %w", err)
		}
		return recs, nil
	}
	trainFiles, testFile, per := []string{"train.bin"}, "test.bin", 5*perBatch
	if !hundred {
		trainFiles, testFile, per = nil, "test_batch.bin", perBatch
		for i := 1; i <= 5; i++ {
			trainFiles = append(trainFiles, fmt.Sprintf("data_batch_%d.bin", i))
		}
	}
	for _, f := range trainFiles {
		recs, err := write(f, per)
		if err != nil {
			return nil, nil, err
		}
		train = append(train, recs...)
	}
	if test, err = write(testFile, perBatch); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
