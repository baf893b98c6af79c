package recordings

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Open reads recordings in any supported format, chosen by the
// path: a folder is a CSRF19 data folder, a .pkl or .pickle file the Cadena
// et al. 2019 pickle, anything else a cotrain recordings file.
func Open(path string) (*Recordings, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("V1 recordings: %w", err)
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
