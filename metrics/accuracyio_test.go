package metrics

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestAccuracyMatrixJSONRoundTrip(t *testing.T) {
	model, _ := handExample(t)
	path := filepath.Join(t.TempDir(), "model.json")
	if err := model.SaveJSON(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadAccuracyMatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, model) {
		t.Errorf("round trip changed the matrix:\n got %+v\nwant %+v", got, model)
	}
	// The file carries the derived accuracies for other readers.
	var raw map[string]any
	data, _ := json.Marshal(model)
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	mean := raw["mean_over_seeds"].(map[string]any)
	if mean["clean_accuracy"].(float64) != 87.5 {
		t.Errorf("mean clean accuracy in JSON = %v, want 87.5", mean["clean_accuracy"])
	}
	seed := raw["seeds"].([]any)[0].(map[string]any)
	if seed["clean"] != "1110" {
		t.Errorf("seed 1 clean results %v, want \"1110\"", seed["clean"])
	}
}

func TestAccuracyMatrixJSONErrors(t *testing.T) {
	model, _ := handExample(t)
	data, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	cases := []struct {
		name, old, new, want string
	}{
		{"bad bit", `"clean":"1110"`, `"clean":"11x0"`, "seed 1 clean: character 'x' at image 2"},
		{"short bits", `"clean":"1110"`, `"clean":"111"`, "seed 1 clean: 3 results for 4 test images"},
		{"derived mismatch", `"clean_accuracy":87.5`, `"clean_accuracy":88`, "clean accuracy 88 in the file, 87.5 from the per-image results"},
		{"unknown field", `"model":"model"`, `"model":"model","extra":1`, `unknown field "extra"`},
		{"missing corruption", `"corruptions":["gaussian_noise","shot_noise","snow"]`, `"corruptions":["gaussian_noise","shot_noise","fog"]`, `no results for corruption "fog"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("encoded matrix lacks %s: %s", c.old, good)
			}
			var m AccuracyMatrix
			err := json.Unmarshal([]byte(strings.Replace(good, c.old, c.new, 1)), &m)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestAccuracyTableCSV(t *testing.T) {
	model, _ := handExample(t)
	mt, err := model.MeanTable()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := mt.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	want := "corruption,1,2\n" +
		"gaussian_noise,75,37.5\n" +
		"shot_noise,75,50\n" +
		"snow,50,25\n" +
		"clean,87.5,87.5\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}
	path := filepath.Join(t.TempDir(), "model.csv")
	if err := mt.SaveCSV(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadAccuracyTableCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, mt) {
		t.Errorf("CSV round trip: got %+v, want %+v", got, mt)
	}
}

func TestAccuracyTableCSVErrors(t *testing.T) {
	cases := []struct {
		name, csv, want string
	}{
		{"empty", "", "empty CSV"},
		{"header", "name,1,2\nsnow,1,2\nclean,3,3\n", "want corruption,1,2,..."},
		{"severity order", "corruption,1,3\nsnow,1,2\nclean,3,3\n", `column 3 is "3", want severity 2`},
		{"number", "corruption,1,2\nsnow,1,x\nclean,3,3\n", "line 2 (snow) severity 2"},
		{"ragged", "corruption,1,2\nsnow,1\nclean,3,3\n", "wrong number of fields"},
		{"no clean", "corruption,1,2\nsnow,1,2\n", `no "clean" row`},
		{"clean differs", "corruption,1,2\nsnow,1,2\nclean,3,4\n", "clean accuracy differs"},
		{"duplicate", "corruption,1,2\nsnow,1,2\nsnow,1,2\nclean,3,3\n", `corruption "snow" listed twice`},
		{"range", "corruption,1,2\nsnow,1,200\nclean,3,3\n", "snow severity 2 accuracy 200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadAccuracyTableCSV(strings.NewReader(c.csv))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
