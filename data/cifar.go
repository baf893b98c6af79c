package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/cotrain/cotrain/internal/pickle"
)

// CIFAR data set names used in spec strings.
const (
	DatasetCIFAR10  = "cifar10"
	DatasetCIFAR100 = "cifar100"
)

// CIFAR image geometry: 32×32 RGB, stored as 1,024 red, then 1,024 green,
// then 1,024 blue bytes, each plane in row-major order.
const (
	cifarSide  = 32
	cifarPlane = cifarSide * cifarSide
	cifarBytes = 3 * cifarPlane
)

// CIFAR10Classes returns the ten CIFAR-10 class names in label order
// (batches.meta's label_names).
func CIFAR10Classes() []string {
	return []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
}

// CIFAR100Classes returns the hundred CIFAR-100 fine class names in label
// order (meta's fine_label_names: alphabetical).
func CIFAR100Classes() []string {
	return []string{
		"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
		"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
		"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
		"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
		"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
		"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
		"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
		"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
		"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
		"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
	}
}

// cifarLayout describes one of the four folders people download.
type cifarLayout struct {
	folder, archive string
	train           []string // training batch files, in order
	test            string
	pickle          bool
	// Binary records: labelBytes label bytes, the label used at labelAt.
	labelBytes, labelAt int
	// Pickle dicts: the label list's key.
	labelKey string
}

// cifarLayouts lists a data set's folder layouts, binary first.
func cifarLayouts(dataset string) []cifarLayout {
	if dataset == DatasetCIFAR100 {
		return []cifarLayout{
			{folder: "cifar-100-binary", archive: "cifar-100-binary.tar.gz", train: []string{"train.bin"}, test: "test.bin", labelBytes: 2, labelAt: 1},
			{folder: "cifar-100-python", archive: "cifar-100-python.tar.gz", train: []string{"train"}, test: "test", pickle: true, labelKey: "fine_labels"},
		}
	}
	var bin, py []string
	for i := 1; i <= 5; i++ {
		bin = append(bin, fmt.Sprintf("data_batch_%d.bin", i))
		py = append(py, fmt.Sprintf("data_batch_%d", i))
	}
	return []cifarLayout{
		{folder: "cifar-10-batches-bin", archive: "cifar-10-binary.tar.gz", train: bin, test: "test_batch.bin", labelBytes: 1},
		{folder: "cifar-10-batches-py", archive: "cifar-10-python.tar.gz", train: py, test: "test_batch", pickle: true, labelKey: "labels"},
	}
}

// cifarHelp says what a CIFAR folder must hold.
func cifarHelp(dataset string) string {
	l := cifarLayouts(dataset)
	return fmt.Sprintf("expected the extracted %s folder (%s, …, %s; from %s) or %s (%s, …, %s; from %s)",
		l[0].folder, l[0].train[0], l[0].test, l[0].archive, l[1].folder, l[1].train[0], l[1].test, l[1].archive)
}

// CIFAR is CIFAR-10 or CIFAR-100 held in memory: 50,000 training and
// 10,000 test images of 32×32 RGB pixels (interleaved, as Image holds them).
type CIFAR struct {
	dataset string
	root    string
	train   *cifarSet // the training batches, in file order
	test    *cifarSet
}

// OpenCIFAR reads the CIFAR-10 (dataset DatasetCIFAR10) or CIFAR-100
// (DatasetCIFAR100) folder root in any of the layouts people download: the
// binary batches (cifar-10-batches-bin: data_batch_1.bin … data_batch_5.bin
// and test_batch.bin, each record one label byte and 3,072 pixel bytes;
// cifar-100-binary: train.bin and test.bin, each record a coarse and a
// fine label byte and 3,072 pixel bytes) or the Python pickles
// (cifar-10-batches-py: data_batch_1 … data_batch_5 and test_batch;
// cifar-100-python: train and test; each a dict with a uint8 array "data"
// [N, 3072] and a label list "labels" or "fine_labels"). CIFAR-100 uses the
// fine labels. root may also be the folder holding the extracted folder
// (torchvision's root), e.g. /data for /data/cifar-10-batches-bin. A
// missing, truncated or corrupt file is an error naming it.
func OpenCIFAR(dataset, root string) (*CIFAR, error) {
	if dataset != DatasetCIFAR10 && dataset != DatasetCIFAR100 {
		return nil, fmt.Errorf("cifar: unknown data set %q; want %s or %s", dataset, DatasetCIFAR10, DatasetCIFAR100)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: %s is not a folder; %s", dataset, root, cifarHelp(dataset))
	}
	var layout *cifarLayout
	for _, dir := range []string{"", "parent"} {
		for _, l := range cifarLayouts(dataset) {
			folder := root
			if dir == "parent" {
				folder = filepath.Join(root, l.folder)
			}
			if _, err := os.Stat(filepath.Join(folder, l.train[0])); err == nil && layout == nil {
				layout, root = &l, folder
			}
		}
	}
	if layout == nil {
		return nil, fmt.Errorf("%s: %s holds no training batch; %s", dataset, root, cifarHelp(dataset))
	}
	classes := CIFAR10Classes()
	if dataset == DatasetCIFAR100 {
		classes = CIFAR100Classes()
	}
	c := &CIFAR{dataset: dataset, root: root}
	read := func(files []string, name string) (*cifarSet, error) {
		s := &cifarSet{name: name, classes: classes}
		for _, f := range files {
			pix, labels, err := layout.read(filepath.Join(root, f), len(classes))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", dataset, err)
			}
			s.pix = append(s.pix, interleave(pix)...)
			s.labels = append(s.labels, labels...)
		}
		return s, nil
	}
	var err error
	if c.train, err = read(layout.train, dataset+":train-file"); err != nil {
		return nil, err
	}
	if c.test, err = read([]string{layout.test}, dataset+":test"); err != nil {
		return nil, err
	}
	return c, nil
}

// Classes returns the class names in label order.
func (c *CIFAR) Classes() []string { return c.train.classes }

// Split returns one of the splits:
//
//   - "train": the training batches less the validation images (45,000 in
//     the full data set), in the order of the shuffled indices;
//   - "validation": the first floor(0.1·n) indices of the NumPy seed-1000
//     shuffle of the n training indices (5,000), the rule of Tiny
//     ImageNet's held-out set;
//   - "test": the test batch (10,000), in file order.
func (c *CIFAR) Split(name string) (Set, error) {
	switch name {
	case SplitTrain, SplitValidation:
		n := c.train.Len()
		train, val, err := HoldoutSplit(n, n/10, SplitSeed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.dataset, err)
		}
		if name == SplitTrain {
			return namedSubset(c.train, c.dataset+":train", train)
		}
		return namedSubset(c.train, c.dataset+":validation", val)
	case SplitTest:
		return c.test, nil
	}
	return nil, fmt.Errorf("%s: unknown split %q; valid splits: %s, %s (10%% held out of the training batches), %s (the test batch)",
		c.dataset, name, SplitTrain, SplitValidation, SplitTest)
}

// GrayNormalization returns the mean and (population) standard deviation
// of the grayscale values (Gray's formula) of every pixel of the training
// split, accumulated in float64.
func (c *CIFAR) GrayNormalization() (Normalize, error) {
	set, err := c.Split(SplitTrain)
	if err != nil {
		return Normalize{}, err
	}
	var sum, sumsq float64
	plane := make([]float32, cifarPlane)
	for i := range set.Len() {
		img, _, err := set.Example(i)
		if err != nil {
			return Normalize{}, err
		}
		Gray(img, plane)
		for _, v := range plane {
			sum += float64(v)
			sumsq += float64(v) * float64(v)
		}
	}
	n := float64(set.Len() * cifarPlane)
	if n == 0 {
		return Normalize{}, fmt.Errorf("%s: no training images to measure the normalization on", c.dataset)
	}
	mean := sum / n
	std := math.Sqrt(max(sumsq/n-mean*mean, 0))
	if std == 0 {
		return Normalize{}, fmt.Errorf("%s: the training images of %s have constant gray values; cannot normalize", c.dataset, c.root)
	}
	return Normalize{Mean: float32(mean), Std: float32(std)}, nil
}

// read reads one batch file of the layout: planar pixels [N·3072] and labels.
func (l cifarLayout) read(path string, classes int) ([]uint8, []uint8, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s is missing; re-extract %s", path, l.archive)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var pix, labels []uint8
	if l.pickle {
		pix, labels, err = decodeCIFARPickle(raw, l.labelKey)
	} else {
		pix, labels, err = decodeCIFARBinary(raw, l.labelBytes, l.labelAt)
	}
	if err == nil {
		for i, y := range labels {
			if int(y) >= classes {
				err = fmt.Errorf("image %d has label %d; want 0..%d", i, y, classes-1)
				break
			}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s is truncated or corrupt: %w; re-extract %s", path, err, l.archive)
	}
	return pix, labels, nil
}

// decodeCIFARBinary splits binary records of labelBytes label bytes and
// 3,072 pixel bytes into planar pixels and the labels at labelAt.
func decodeCIFARBinary(raw []byte, labelBytes, labelAt int) ([]uint8, []uint8, error) {
	rec := labelBytes + cifarBytes
	if len(raw) == 0 || len(raw)%rec != 0 {
		return nil, nil, fmt.Errorf("%d bytes is not a whole, positive number of %d-byte records (%d label byte(s) and %d pixel bytes each)",
			len(raw), rec, labelBytes, cifarBytes)
	}
	n := len(raw) / rec
	pix := make([]uint8, 0, n*cifarBytes)
	labels := make([]uint8, n)
	for i := range n {
		r := raw[i*rec : (i+1)*rec]
		if labelBytes == 2 && r[0] >= 20 {
			return nil, nil, fmt.Errorf("image %d has coarse label %d; want 0..19", i, r[0])
		}
		labels[i] = r[labelAt]
		pix = append(pix, r[labelBytes:]...)
	}
	return pix, labels, nil
}

// decodeCIFARPickle reads a pickled batch dict: "data", a uint8 array
// [N, 3072], and the label list under labelKey.
func decodeCIFARPickle(raw []byte, labelKey string) ([]uint8, []uint8, error) {
	v, err := unpickle(raw)
	if err != nil {
		return nil, nil, err
	}
	d, ok := v.(*pickle.Dict)
	if !ok {
		return nil, nil, fmt.Errorf("the pickle holds a %T, not a dict", v)
	}
	var data, labelList any
	for i, k := range d.Keys {
		switch s, _ := text(k); s {
		case "data":
			data = d.Values[i]
		case labelKey:
			labelList = d.Values[i]
		}
	}
	if data == nil {
		return nil, nil, fmt.Errorf("the dict has no %q", "data")
	}
	a, ok := data.(*pyArray)
	if !ok || !a.filled {
		return nil, nil, fmt.Errorf("the dict's %q is a %T, not a NumPy array", "data", data)
	}
	if a.dtype.descr != "u1" || len(a.shape) != 2 || a.shape[1] != cifarBytes {
		return nil, nil, fmt.Errorf("the data array is %s%s %v; want uint8 (u1) [N, %d]", a.dtype.order, a.dtype.descr, a.shape, cifarBytes)
	}
	n := a.shape[0]
	if len(a.data) != n*cifarBytes {
		return nil, nil, fmt.Errorf("the data array holds %d bytes; its shape %v needs %d", len(a.data), a.shape, n*cifarBytes)
	}
	if labelList == nil {
		return nil, nil, fmt.Errorf("the dict has no %q", labelKey)
	}
	l, ok := labelList.(*pickle.List)
	if !ok {
		return nil, nil, fmt.Errorf("the dict's %q is a %T, not a list", labelKey, labelList)
	}
	if len(l.Items) != n {
		return nil, nil, fmt.Errorf("%d labels for %d images", len(l.Items), n)
	}
	labels := make([]uint8, n)
	for i, x := range l.Items {
		y, ok := x.(int64)
		if !ok || y < 0 || y > 255 {
			return nil, nil, fmt.Errorf("label %d is %v, not a class index", i, x)
		}
		labels[i] = uint8(y)
	}
	return a.data, labels, nil
}

// interleave turns planar CIFAR images (R plane, G plane, B plane) into
// interleaved RGB.
func interleave(planar []uint8) []uint8 {
	out := make([]uint8, len(planar))
	for i := 0; i < len(planar); i += cifarBytes {
		src, dst := planar[i:i+cifarBytes], out[i:i+cifarBytes]
		for p := range cifarPlane {
			dst[3*p], dst[3*p+1], dst[3*p+2] = src[p], src[cifarPlane+p], src[2*cifarPlane+p]
		}
	}
	return out
}

// cifarSet is a Set of 32×32 RGB images held in one array.
type cifarSet struct {
	name    string
	classes []string
	pix     []uint8 // interleaved RGB, cifarBytes per image
	labels  []uint8
}

func (s *cifarSet) Len() int { return len(s.labels) }

func (s *cifarSet) Classes() []string { return s.classes }

func (s *cifarSet) Name() string { return s.name }

// Example returns image i without copying its pixels.
func (s *cifarSet) Example(i int) (Image, int, error) {
	if i < 0 || i >= len(s.labels) {
		return Image{}, 0, fmt.Errorf("%s: example %d is outside 0..%d", s.name, i, len(s.labels)-1)
	}
	return Image{H: cifarSide, W: cifarSide, C: 3, Pix: s.pix[i*cifarBytes : (i+1)*cifarBytes : (i+1)*cifarBytes]}, int(s.labels[i]), nil
}
