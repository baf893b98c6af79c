package data

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// Tiny ImageNet normalization constants for grayscale images (the paper's
// values, computed by the authors on the training images).
const (
	TinyImageNetMean = 0.4519
	TinyImageNetStd  = 0.2221
)

// tinyImageNetHelp says what a Tiny ImageNet folder must hold.
const tinyImageNetHelp = "expected the extracted tiny-imagenet-200 folder: train/<wnid>/images/*.JPEG, " +
	"val/images/* and val/val_annotations.txt (unzip tiny-imagenet-200.zip)"

// reextract is the fix suggested for a damaged or missing image file.
const reextract = "re-extract tiny-imagenet-200.zip"

// TinyImageNetOptions configures OpenTinyImageNet.
type TinyImageNetOptions struct {
	// Cache keeps each decoded image in memory (uint8 RGB, 12 KiB for a
	// 64×64 image: about 1.2 GiB for the 100,000 training-folder images
	// and 120 MiB for the test images) so that later epochs skip JPEG
	// decoding. Off, every Example call reads and decodes its file.
	Cache bool
}

// TinyImageNet is an opened Tiny ImageNet folder. Its splits are views of
// two file lists: the training folder (train/<wnid>/images, 100,000 images
// in the full data set) and the official validation folder (val/images,
// 10,000 images), which is the test split.
type TinyImageNet struct {
	root    string
	classes []string
	folder  *fileSet // the training folder, in ImageFolder order
	test    *fileSet // the official validation images, in ImageFolder order
}

// OpenTinyImageNet lists the images of the Tiny ImageNet folder root and
// returns the data set. Nothing is decoded yet: images are decoded when
// Example is called (by a Loader's workers, in parallel).
//
// Labels are the positions of the wnids in the sorted list of the folders
// under train/. The training folder lists, class by class in that order,
// the image files under train/<wnid>/ with sorted directories and sorted
// file names, exactly as torchvision's ImageFolder does, so example i is the
// original's example i. The test images are the files named in
// val/val_annotations.txt (tab-separated: file name, wnid, box), found
// either in val/images/ (as distributed) or in val/images/<wnid>/ (as the
// original code rearranges them), ordered by label and then file name.
func OpenTinyImageNet(root string, opts TinyImageNetOptions) (*TinyImageNet, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("tiny imagenet: %s is not a folder; %s", root, tinyImageNetHelp)
	}
	trainDir := filepath.Join(root, "train")
	classes, err := subfolders(trainDir)
	if err != nil {
		return nil, fmt.Errorf("tiny imagenet: reading %s: %w; %s", trainDir, err, tinyImageNetHelp)
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("tiny imagenet: %s has no class folders; %s", trainDir, tinyImageNetHelp)
	}
	folder := &fileSet{name: "tinyimagenet:train-folder", classes: classes}
	for label, wnid := range classes {
		files, err := imageFolderFiles(filepath.Join(trainDir, wnid))
		if err != nil {
			return nil, fmt.Errorf("tiny imagenet: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("tiny imagenet: class folder %s holds no images; %s",
				filepath.Join(trainDir, wnid), tinyImageNetHelp)
		}
		for _, f := range files {
			folder.paths = append(folder.paths, f)
			folder.labels = append(folder.labels, label)
		}
	}
	test, err := readTinyImageNetVal(root, classes)
	if err != nil {
		return nil, err
	}
	if opts.Cache {
		folder.cache = make([]atomic.Pointer[Image], len(folder.paths))
		test.cache = make([]atomic.Pointer[Image], len(test.paths))
	}
	return &TinyImageNet{root: root, classes: classes, folder: folder, test: test}, nil
}

// Classes returns the wnids in label order.
func (t *TinyImageNet) Classes() []string { return t.classes }

// Root returns the folder the data set was opened from.
func (t *TinyImageNet) Root() string { return t.root }

// Split returns one of the splits:
//
//   - "train": the training folder less the validation images (90,000 in
//     the full data set), in the order of the shuffled indices;
//   - "validation": the first floor(0.1·n) indices of the NumPy seed-1000
//     shuffle of the n training-folder indices (10,000 in the full data
//     set), exactly the original's held-out set;
//   - "test": the official validation images (10,000).
func (t *TinyImageNet) Split(name string) (Set, error) {
	switch name {
	case SplitTrain, SplitValidation:
		n := t.folder.Len()
		train, val, err := HoldoutSplit(n, n/10, SplitSeed)
		if err != nil {
			return nil, fmt.Errorf("tiny imagenet: %w", err)
		}
		if name == SplitTrain {
			return namedSubset(t.folder, "tinyimagenet:train", train)
		}
		return namedSubset(t.folder, "tinyimagenet:validation", val)
	case SplitTest:
		return t.test, nil
	}
	return nil, fmt.Errorf("tiny imagenet: unknown split %q; valid splits: %s, %s (10%% held out of the training folder), %s (the official val folder)",
		name, SplitTrain, SplitValidation, SplitTest)
}

// subfolders returns the sorted names of the folders in dir (following
// symbolic links), as torchvision's find_classes does.
func subfolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if isDir(filepath.Join(dir, e.Name()), e) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// isDir reports whether the entry is a folder, following a symbolic link.
func isDir(path string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// hasImageExtension reports whether ImageFolder would take the file: its
// name ends, in lower case, with one of torchvision's image extensions. The
// training listing keeps the same files as the original so that its
// indices, and so the split, match.
func hasImageExtension(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range [...]string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"} {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// maxFolderDepth bounds the walk below a class folder, so that a symbolic
// link loop is an error rather than an endless walk.
const maxFolderDepth = 16

// imageFolderFiles lists the image files below dir in ImageFolder's order:
// the folders (dir and everything below it, links followed) sorted by path,
// and in each the file names sorted.
func imageFolderFiles(dir string) ([]string, error) {
	type folder struct {
		path  string
		files []string
	}
	var folders []folder
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > maxFolderDepth {
			return fmt.Errorf("%s is nested more than %d folders deep (a symbolic link loop?)", path, maxFolderDepth)
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		f := folder{path: path}
		for _, e := range entries {
			p := filepath.Join(path, e.Name())
			if isDir(p, e) {
				if err := walk(p, depth+1); err != nil {
					return err
				}
			} else if hasImageExtension(e.Name()) {
				f.files = append(f.files, e.Name())
			}
		}
		folders = append(folders, f)
		return nil
	}
	if err := walk(dir, 0); err != nil {
		return nil, err
	}
	sort.Slice(folders, func(i, j int) bool { return folders[i].path < folders[j].path })
	var out []string
	for _, f := range folders {
		sort.Strings(f.files)
		for _, name := range f.files {
			out = append(out, filepath.Join(f.path, name))
		}
	}
	return out, nil
}

// readTinyImageNetVal reads val/val_annotations.txt and finds its images.
func readTinyImageNetVal(root string, classes []string) (*fileSet, error) {
	imagesDir := filepath.Join(root, "val", "images")
	annPath := filepath.Join(root, "val", "val_annotations.txt")
	entries, err := os.ReadDir(imagesDir)
	if err != nil {
		return nil, fmt.Errorf("tiny imagenet: reading %s: %w; %s", imagesDir, err, tinyImageNetHelp)
	}
	flat := make(map[string]bool)
	nested := make(map[string]map[string]bool) // wnid folder -> file names
	for _, e := range entries {
		p := filepath.Join(imagesDir, e.Name())
		if !isDir(p, e) {
			flat[e.Name()] = true
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("tiny imagenet: reading %s: %w", p, err)
		}
		names := make(map[string]bool, len(sub))
		for _, s := range sub {
			names[s.Name()] = true
		}
		nested[e.Name()] = names
	}
	labelOf := make(map[string]int, len(classes))
	for i, c := range classes {
		labelOf[c] = i
	}
	f, err := os.Open(annPath)
	if err != nil {
		return nil, fmt.Errorf("tiny imagenet: opening %s: %w; %s", annPath, err, tinyImageNetHelp)
	}
	defer f.Close()
	type entry struct {
		name, path string
		label      int
	}
	var list []entry
	seen := make(map[string]int)
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) < 2 || fields[0] == "" || fields[1] == "" {
			return nil, fmt.Errorf("tiny imagenet: %s line %d: want tab-separated file name and wnid, got %q; %s",
				annPath, line, text, reextract)
		}
		name, wnid := fields[0], fields[1]
		label, ok := labelOf[wnid]
		if !ok {
			return nil, fmt.Errorf("tiny imagenet: %s line %d: wnid %s has no folder under %s; %s",
				annPath, line, wnid, filepath.Join(root, "train"), reextract)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("tiny imagenet: %s line %d: %s is already listed on line %d; %s",
				annPath, line, name, prev, reextract)
		}
		seen[name] = line
		var path string
		switch {
		case flat[name]:
			path = filepath.Join(imagesDir, name)
		case nested[wnid][name]:
			path = filepath.Join(imagesDir, wnid, name)
		default:
			return nil, fmt.Errorf("tiny imagenet: %s line %d lists %s, which is neither %s nor %s; %s",
				annPath, line, name, filepath.Join(imagesDir, name), filepath.Join(imagesDir, wnid, name), reextract)
		}
		list = append(list, entry{name: name, path: path, label: label})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tiny imagenet: reading %s: %w", annPath, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("tiny imagenet: %s lists no images; %s", annPath, reextract)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].label != list[j].label {
			return list[i].label < list[j].label
		}
		return list[i].name < list[j].name
	})
	test := &fileSet{name: "tinyimagenet:test", classes: classes}
	for _, e := range list {
		test.paths = append(test.paths, e.path)
		test.labels = append(test.labels, e.label)
	}
	return test, nil
}

// fileSet is a Set of image files decoded on demand, with an optional
// in-memory cache of the decoded images.
type fileSet struct {
	name    string
	classes []string
	paths   []string
	labels  []int
	cache   []atomic.Pointer[Image] // nil: no cache
}

func (s *fileSet) Len() int { return len(s.paths) }

func (s *fileSet) Classes() []string { return s.classes }

func (s *fileSet) Name() string { return s.name }

// Example decodes image i (or takes it from the cache). Two goroutines may
// decode the same uncached image at once; both get equal pixels.
func (s *fileSet) Example(i int) (Image, int, error) {
	if i < 0 || i >= len(s.paths) {
		return Image{}, 0, fmt.Errorf("%s: example %d is outside 0..%d", s.name, i, len(s.paths)-1)
	}
	if s.cache != nil {
		if m := s.cache[i].Load(); m != nil {
			return *m, s.labels[i], nil
		}
	}
	path := s.paths[i]
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Image{}, 0, fmt.Errorf("%s: image file %s is missing; %s", s.name, path, reextract)
	}
	if err != nil {
		return Image{}, 0, fmt.Errorf("%s: reading %s: %w", s.name, path, err)
	}
	m, err := DecodeRGB(b)
	if err != nil {
		return Image{}, 0, fmt.Errorf("%s: decoding %s: %w (the file is damaged or truncated; %s)", s.name, path, err, reextract)
	}
	if s.cache != nil {
		s.cache[i].Store(&m)
	}
	return m, s.labels[i], nil
}
