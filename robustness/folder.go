package robustness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/data"
)

// FolderOptions configures OpenFolder.
type FolderOptions struct {
	// Classes are the class folder names (wnids) in label order: the
	// classes of the model under test. Required.
	Classes []string
	// Side, if positive, is the model's input side: smaller square images
	// get zero pixels on every side to reach it, as data.Padded gives the
	// clean images (Fashion-MNIST's 28×28 become 32×32).
	Side int
}

// Folder is a folder of precomputed corrupted test images in the
// Tiny-ImageNet-C layout: <root>/<corruption>/<severity>/<wnid>/<file>,
// with severities 1 to 5 and JPEG or PNG files.
type Folder struct {
	root    string
	classes []string
	label   map[string]int
	side    int
}

// OpenFolder checks that root is a folder and returns it; cells are listed
// when Set asks for them.
func OpenFolder(root string, opts FolderOptions) (*Folder, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("corrupted image folder: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("corrupted image folder %s is not a directory (want <corruption>/<severity>/<wnid>/ under it)", root)
	}
	if len(opts.Classes) == 0 {
		return nil, fmt.Errorf("corrupted image folder %s: no class names given (pass the model's classes)", root)
	}
	f := &Folder{root: root, classes: slices.Clone(opts.Classes), label: make(map[string]int), side: opts.Side}
	for i, c := range opts.Classes {
		if _, dup := f.label[c]; dup {
			return nil, fmt.Errorf("corrupted image folder %s: class %q listed twice", root, c)
		}
		f.label[c] = i
	}
	return f, nil
}

// Root returns the folder's path.
func (f *Folder) Root() string { return f.root }

// Set returns the images of one corruption at one severity as a data.Set:
// the files of the class folders in label order (the order of the
// Classes option), and within a class in file-name order, which is how
// torchvision's ImageFolder and data.TinyImageNet order them. Files other
// than .jpeg, .jpg and .png are skipped. A class folder that is not one of
// the classes is an error: the Zenodo copy of Tiny-ImageNet-C has a frost
// folder with 1000 ImageNet classes (hendrycks/robustness#60).
func (f *Folder) Set(corruption string, severity int) (data.Set, error) {
	dir := filepath.Join(f.root, corruption, strconv.Itoa(severity))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("corrupted images of %s at severity %d: %w (want %s/<wnid>/<images>)", corruption, severity, err, dir)
	}
	byClass := make([][]string, len(f.classes))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		label, ok := f.label[e.Name()]
		if !ok {
			return nil, fmt.Errorf("%s: class folder %q is not one of the model's %d classes %s; a Tiny-ImageNet-C frost folder with 1000 classes is the broken Zenodo copy (hendrycks/robustness#60), use a fixed one",
				dir, e.Name(), len(f.classes), brief(f.classes))
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("corrupted images of %s at severity %d: %w", corruption, severity, err)
		}
		for _, fe := range files {
			switch strings.ToLower(filepath.Ext(fe.Name())) {
			case ".jpeg", ".jpg", ".png":
				if fe.Type().IsRegular() || fe.Type()&os.ModeSymlink != 0 {
					byClass[label] = append(byClass[label], fe.Name())
				}
			}
		}
	}
	s := &folderSet{name: "corrupted:" + dir, classes: f.classes, side: f.side}
	for label, names := range byClass {
		slices.Sort(names)
		for _, n := range names {
			s.files = append(s.files, filepath.Join(dir, f.classes[label], n))
			s.labels = append(s.labels, label)
		}
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("%s holds no images of the model's classes (want <wnid>/<name>.JPEG under it)", dir)
	}
	return s, nil
}

// folderSet is the data.Set of one folder cell.
type folderSet struct {
	name    string
	classes []string
	files   []string
	labels  []int
	side    int
}

func (s *folderSet) Len() int          { return len(s.files) }
func (s *folderSet) Classes() []string { return s.classes }
func (s *folderSet) Name() string      { return s.name }
func (s *folderSet) Example(i int) (data.Image, int, error) {
	if i < 0 || i >= len(s.files) {
		return data.Image{}, 0, fmt.Errorf("%s: example %d out of range [0, %d)", s.name, i, len(s.files))
	}
	raw, err := os.ReadFile(s.files[i])
	if err != nil {
		return data.Image{}, 0, err
	}
	img, err := data.DecodeRGB(raw)
	if err != nil {
		return data.Image{}, 0, fmt.Errorf("decoding %s: %w", s.files[i], err)
	}
	if s.side > 0 && (img.H != s.side || img.W != s.side) {
		pad := (s.side - img.H) / 2
		if img.H != img.W || pad <= 0 || img.H+2*pad != s.side {
			return data.Image{}, 0, fmt.Errorf("%s is %d×%d; the model takes %d×%d, which zero padding on every side cannot reach",
				s.files[i], img.H, img.W, s.side, s.side)
		}
		img = data.PadImage(img, pad)
	}
	return img, s.labels[i], nil
}
