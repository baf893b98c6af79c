package metrics

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

// derivedTolerance is how far an accuracy stored in a JSON file may be from
// the one recomputed from its per-image results.
const derivedTolerance = 1e-9

// jsonMatrix is the on-disk JSON form of an AccuracyMatrix. Per-image
// results are strings of '0' (wrong) and '1' (correct), one character per
// test image; the accuracies are derived from them and stored for readers
// that do not need the per-image results.
type jsonMatrix struct {
	Model       string     `json:"model"`
	NumImages   int        `json:"num_images"`
	Severities  int        `json:"severities"`
	Corruptions []string   `json:"corruptions"`
	Mean        jsonTable  `json:"mean_over_seeds"`
	Seeds       []jsonSeed `json:"seeds"`
}

// jsonTable is the JSON form of an AccuracyTable inside a matrix file.
type jsonTable struct {
	Clean    float64              `json:"clean_accuracy"`
	Accuracy map[string][]float64 `json:"accuracy"`
}

// jsonSeed is the JSON form of one seed's results.
type jsonSeed struct {
	Seed      int64               `json:"seed"`
	Table     jsonTable           `json:"accuracies"`
	Clean     string              `json:"clean"`
	Corrupted map[string][]string `json:"corrupted"`
}

func toJSONTable(t AccuracyTable) jsonTable {
	j := jsonTable{Clean: t.Clean, Accuracy: make(map[string][]float64, len(t.Corruptions))}
	for c, name := range t.Corruptions {
		j.Accuracy[name] = t.Accuracy[c]
	}
	return j
}

func bitString(res []bool) string {
	b := make([]byte, len(res))
	for k, ok := range res {
		b[k] = '0'
		if ok {
			b[k] = '1'
		}
	}
	return string(b)
}

func parseBits(s string, n int) ([]bool, error) {
	if len(s) != n {
		return nil, fmt.Errorf("%d results for %d test images", len(s), n)
	}
	res := make([]bool, n)
	for k := range n {
		switch s[k] {
		case '0':
		case '1':
			res[k] = true
		default:
			return nil, fmt.Errorf("character %q at image %d; results are strings of 0 and 1", s[k], k)
		}
	}
	return res, nil
}

// MarshalJSON encodes m with its per-image results as strings of '0' and
// '1', and the accuracies (%) per seed and averaged over seeds.
func (m AccuracyMatrix) MarshalJSON() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	j := jsonMatrix{
		Model:       m.Model,
		NumImages:   m.NumImages,
		Severities:  m.Severities,
		Corruptions: m.Corruptions,
		Mean:        toJSONTable(m.meanTable()),
	}
	for k, sc := range m.Seeds {
		js := jsonSeed{
			Seed:      sc.Seed,
			Table:     toJSONTable(m.seedTable(k)),
			Clean:     bitString(sc.Clean),
			Corrupted: make(map[string][]string, len(m.Corruptions)),
		}
		for c, bySev := range sc.Corrupted {
			for _, res := range bySev {
				js.Corrupted[m.Corruptions[c]] = append(js.Corrupted[m.Corruptions[c]], bitString(res))
			}
		}
		j.Seeds = append(j.Seeds, js)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form written by MarshalJSON, validates it and
// checks that the stored accuracies agree with the per-image results.
func (m *AccuracyMatrix) UnmarshalJSON(data []byte) error {
	var j jsonMatrix
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	out := AccuracyMatrix{Model: j.Model, NumImages: j.NumImages, Corruptions: j.Corruptions, Severities: j.Severities}
	if err := checkCorruptionNames(j.Corruptions); err != nil {
		return fmt.Errorf("model %q: %w", j.Model, err)
	}
	for _, js := range j.Seeds {
		sc := SeedCorrectness{Seed: js.Seed, Corrupted: make([][][]bool, len(j.Corruptions))}
		var err error
		if sc.Clean, err = parseBits(js.Clean, j.NumImages); err != nil {
			return fmt.Errorf("model %q seed %d clean: %w", j.Model, js.Seed, err)
		}
		if len(js.Corrupted) != len(j.Corruptions) {
			return fmt.Errorf("model %q seed %d: results for %d corruptions, %d corruptions listed",
				j.Model, js.Seed, len(js.Corrupted), len(j.Corruptions))
		}
		for c, name := range j.Corruptions {
			bySev, ok := js.Corrupted[name]
			if !ok {
				return fmt.Errorf("model %q seed %d: no results for corruption %q", j.Model, js.Seed, name)
			}
			if len(bySev) != j.Severities {
				return fmt.Errorf("model %q seed %d %s: %d severities, want %d", j.Model, js.Seed, name, len(bySev), j.Severities)
			}
			for s, bits := range bySev {
				res, err := parseBits(bits, j.NumImages)
				if err != nil {
					return fmt.Errorf("model %q seed %d %s severity %d: %w", j.Model, js.Seed, name, s+1, err)
				}
				sc.Corrupted[c] = append(sc.Corrupted[c], res)
			}
		}
		out.Seeds = append(out.Seeds, sc)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	for k, js := range j.Seeds {
		if err := checkDerived(out.seedTable(k), js.Table); err != nil {
			return fmt.Errorf("model %q seed %d: %w", j.Model, js.Seed, err)
		}
	}
	if err := checkDerived(out.meanTable(), j.Mean); err != nil {
		return fmt.Errorf("model %q mean over seeds: %w", j.Model, err)
	}
	*m = out
	return nil
}

// checkDerived compares stored accuracies with the recomputed table.
func checkDerived(want AccuracyTable, got jsonTable) error {
	if math.Abs(got.Clean-want.Clean) > derivedTolerance {
		return fmt.Errorf("clean accuracy %g in the file, %g from the per-image results", got.Clean, want.Clean)
	}
	if len(got.Accuracy) != len(want.Corruptions) {
		return fmt.Errorf("accuracies for %d corruptions in the file, %d corruptions listed", len(got.Accuracy), len(want.Corruptions))
	}
	for c, name := range want.Corruptions {
		row := got.Accuracy[name]
		if len(row) != len(want.Accuracy[c]) {
			return fmt.Errorf("%s: %d accuracies in the file, want %d", name, len(row), len(want.Accuracy[c]))
		}
		for s, a := range row {
			if math.Abs(a-want.Accuracy[c][s]) > derivedTolerance {
				return fmt.Errorf("%s severity %d: accuracy %g in the file, %g from the per-image results", name, s+1, a, want.Accuracy[c][s])
			}
		}
	}
	return nil
}

// SaveJSON writes m to path as JSON, atomically.
func (m *AccuracyMatrix) SaveJSON(path string) error {
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(data, '\n'))
}

// LoadAccuracyMatrix reads an AccuracyMatrix written by SaveJSON.
func LoadAccuracyMatrix(path string) (*AccuracyMatrix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading accuracy matrix: %w", err)
	}
	var m AccuracyMatrix
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading accuracy matrix %s: %w", path, err)
	}
	return &m, nil
}

// csvCleanRow names the CSV row that holds the clean accuracy.
const csvCleanRow = "clean"

// WriteCSV writes t as CSV: a header "corruption,1,2,…" with one column per
// severity, one row per corruption with its accuracies in %, and a last row
// "clean" with the clean accuracy repeated in every column (severity does
// not apply to it; repeating it keeps every row the same shape).
func (t AccuracyTable) WriteCSV(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	sev := t.Severities()
	header := []string{"corruption"}
	for s := 1; s <= sev; s++ {
		header = append(header, strconv.Itoa(s))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	format := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for c, name := range t.Corruptions {
		row := []string{name}
		for _, a := range t.Accuracy[c] {
			row = append(row, format(a))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	row := []string{csvCleanRow}
	for range sev {
		row = append(row, format(t.Clean))
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// ReadAccuracyTableCSV reads the form written by WriteCSV.
func ReadAccuracyTableCSV(r io.Reader) (AccuracyTable, error) {
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return AccuracyTable{}, err
	}
	if len(rows) == 0 {
		return AccuracyTable{}, errors.New("empty CSV; want a header corruption,1,2,...")
	}
	header := rows[0]
	if len(header) < 2 || header[0] != "corruption" {
		return AccuracyTable{}, fmt.Errorf("CSV header %q; want corruption,1,2,... with one column per severity", header)
	}
	for s, h := range header[1:] {
		if h != strconv.Itoa(s+1) {
			return AccuracyTable{}, fmt.Errorf("CSV header column %d is %q, want severity %d", s+2, h, s+1)
		}
	}
	var t AccuracyTable
	haveClean := false
	for line, row := range rows[1:] {
		vals := make([]float64, len(row)-1)
		for s, cell := range row[1:] {
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				return AccuracyTable{}, fmt.Errorf("CSV line %d (%s) severity %d: %w", line+2, row[0], s+1, err)
			}
			vals[s] = v
		}
		if row[0] == csvCleanRow {
			if haveClean {
				return AccuracyTable{}, fmt.Errorf("CSV line %d: second %q row", line+2, csvCleanRow)
			}
			for s, v := range vals {
				if v != vals[0] {
					return AccuracyTable{}, fmt.Errorf("CSV line %d: clean accuracy differs between columns 1 (%g) and %d (%g); repeat the one clean accuracy in every column",
						line+2, vals[0], s+1, v)
				}
			}
			t.Clean = vals[0]
			haveClean = true
			continue
		}
		t.Corruptions = append(t.Corruptions, row[0])
		t.Accuracy = append(t.Accuracy, vals)
	}
	if !haveClean {
		return AccuracyTable{}, fmt.Errorf("CSV has no %q row; add one with the clean accuracy in every column", csvCleanRow)
	}
	if err := t.Validate(); err != nil {
		return AccuracyTable{}, err
	}
	return t, nil
}

// SaveCSV writes t to path as CSV (see WriteCSV), atomically.
func (t AccuracyTable) SaveCSV(path string) error {
	return atomicfile.Write(path, t.WriteCSV)
}

// LoadAccuracyTableCSV reads an AccuracyTable from a CSV file written by
// SaveCSV.
func LoadAccuracyTableCSV(path string) (AccuracyTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return AccuracyTable{}, fmt.Errorf("reading accuracy table: %w", err)
	}
	defer f.Close()
	t, err := ReadAccuracyTableCSV(f)
	if err != nil {
		return AccuracyTable{}, fmt.Errorf("reading accuracy table %s: %w", path, err)
	}
	return t, nil
}
