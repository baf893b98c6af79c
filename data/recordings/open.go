package recordings

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Open reads recordings in any supported format, chosen by the
// path: a Sensorium / neuralpredictors static folder is one mouse scan, a
// folder of such folders is several (in name order), any other folder is a
// CSRF19 data folder, a .pkl or .pickle file the Cadena et al. 2019
// pickle, anything else a cotrain recordings file. Sensorium folders are
// read with DefaultSensoriumConfig; ReadSensorium takes other settings.
func Open(path string) (*Recordings, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("V1 recordings: %w", err)
	}
	if st.IsDir() {
		if scans := SensoriumScans(path); scans != nil {
			return ReadSensorium(scans, DefaultSensoriumConfig())
		}
	}
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case st.IsDir():
		return ReadCSRF(path, DefaultCSRFConfig())
	case ext == ".pkl" || ext == ".pickle":
		return ReadCadena(path, DefaultCadenaConfig())
	default:
		return Load(path)
	}
}

// SensoriumScans returns the Sensorium scan folders at path: path itself
// if it is one, else its subfolders that are, in name order; nil if none.
func SensoriumScans(path string) []string {
	if IsSensorium(path) {
		return []string{path}
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil
	}
	var scans []string
	for _, e := range entries {
		if sub := filepath.Join(path, e.Name()); e.IsDir() && IsSensorium(sub) {
			scans = append(scans, sub)
		}
	}
	return scans
}
