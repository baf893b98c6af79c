package data

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
)

// Batch is one batch of preprocessed samples.
type Batch struct {
	// X holds Views×N×H×W×1 float32 values: view-major, then sample, row,
	// column (NHWC with one channel; for one view simply N×H×W×1). View v
	// of sample j starts at X[(v*N+j)*H*W]. With two views this is the
	// original's 2N concatenation of both views.
	X []float32
	// Labels holds the N class labels (shared by all views).
	Labels []int32
	// Indices holds the N example indices in the loader's Set.
	Indices []int
	// N is the number of samples, H and W the image size, Views the number
	// of views.
	N, H, W, Views int
	// Number is the batch's position in its epoch, from 0.
	Number int
}

// View returns the N×H×W×1 values of view v.
func (b *Batch) View(v int) []float32 {
	n := b.N * b.H * b.W
	return b.X[v*n : (v+1)*n]
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// BatchSize is the number of samples per batch (positive).
	BatchSize int
	// Shuffle draws a new sample order every epoch from (Seed, epoch);
	// off, samples come in set order.
	Shuffle bool
	// Seed is the seed of the order and of every random draw of the
	// pipeline.
	Seed uint64
	// DropLast drops the last batch if it is partial (the original keeps it:
	// 90,000 samples in batches of 128 give 704 batches, the last of 16).
	DropLast bool
	// Pipeline is the per-sample preprocessing.
	Pipeline Pipeline
	// Workers is the number of goroutines that decode and preprocess; 0 or
	// less means runtime.GOMAXPROCS(0). The results do not depend on it.
	Workers int
	// Prefetch bounds the batches queued ahead of the consumer (so memory
	// stays flat); 0 or less means max(2, Workers).
	Prefetch int
}

// Loader produces epochs of batches from a Set. Order and augmentation
// depend only on (Seed, epoch, sample index): any number of workers gives
// the same batches. A Loader may run several epochs at once.
type Loader struct {
	set      Set
	cfg      LoaderConfig
	workers  int
	prefetch int
	h, w     int
}

// NewLoader checks the configuration and returns a loader. It runs the
// pipeline once on the set's first example, to learn the output size and
// to report a bad pipeline or an unreadable data set early.
func NewLoader(set Set, cfg LoaderConfig) (*Loader, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("loader for %s: batch size %d must be positive", set.Name(), cfg.BatchSize)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("loader for %s: the set is empty", set.Name())
	}
	if err := cfg.Pipeline.Normalize.validate(); err != nil {
		return nil, fmt.Errorf("loader for %s: %w", set.Name(), err)
	}
	l := &Loader{set: set, cfg: cfg, workers: cfg.Workers, prefetch: cfg.Prefetch}
	if l.workers <= 0 {
		l.workers = runtime.GOMAXPROCS(0)
	}
	if l.prefetch <= 0 {
		l.prefetch = max(2, l.workers)
	}
	img, _, err := set.Example(0)
	if err != nil {
		return nil, fmt.Errorf("loader for %s: reading the first example: %w", set.Name(), err)
	}
	views, err := cfg.Pipeline.views(img, cfg.Seed, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("loader for %s: preprocessing the first example: %w", set.Name(), err)
	}
	l.h, l.w = views[0].H, views[0].W
	return l, nil
}

// NewEvalLoader returns a loader for evaluation: the set in order, every
// example kept, grayscale and normalization only.
func NewEvalLoader(set Set, batchSize int, n Normalize, workers int) (*Loader, error) {
	return NewLoader(set, LoaderConfig{BatchSize: batchSize, Pipeline: EvalPipeline(n), Workers: workers})
}

// Set returns the loader's data set.
func (l *Loader) Set() Set { return l.set }

// Size returns the number of views and the height and width of every
// sample.
func (l *Loader) Size() (views, h, w int) { return l.cfg.Pipeline.NumViews(), l.h, l.w }

// NumBatches is the number of batches in an epoch.
func (l *Loader) NumBatches() int {
	n, b := l.set.Len(), l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Order returns the set indices of an epoch in the order they are served
// (before dropping a partial last batch): a permutation drawn from
// (Seed, epoch) if Shuffle is on, else 0..Len()-1.
func (l *Loader) Order(epoch int) []int {
	if l.cfg.Shuffle {
		return orderRNG(l.cfg.Seed, epoch).Perm(l.set.Len())
	}
	order := make([]int, l.set.Len())
	for i := range order {
		order[i] = i
	}
	return order
}

// pendingBatch is a batch being filled by the workers, chunk by chunk.
type pendingBatch struct {
	batch     *Batch
	errs      []error // per chunk; the first one in chunk order is reported
	remaining atomic.Int32
	done      chan struct{}
}

// chunk is a worker's share of a batch: positions lo..hi-1.
type chunk struct {
	pb     *pendingBatch
	k      int // chunk number
	lo, hi int
}

// Epoch returns the batches of one epoch, in order. Iteration stops at the
// first error, which is yielded with a nil batch: a sample that cannot be
// read or preprocessed (the earliest one in serving order is reported), or
// the context's error once ctx is done. Each Batch is newly allocated and
// belongs to the caller. Breaking out of the loop stops the workers.
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()
		order := l.Order(epoch)
		queue := make(chan *pendingBatch, l.prefetch)
		jobs := make(chan chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(queue)
			defer close(jobs)
			l.produce(ctx, epoch, order, queue, jobs)
		}()
		for range l.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range jobs {
					c.pb.finish(c.k, l.fill(ctx, epoch, c))
				}
			}()
		}
		delivered := 0
		for pb := range queue {
			select {
			case <-pb.done:
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
			for _, err := range pb.errs {
				if err != nil {
					yield(nil, err)
					return
				}
			}
			if !yield(pb.batch, nil) {
				return
			}
			delivered++
		}
		if delivered < l.NumBatches() {
			yield(nil, ctx.Err())
		}
	}
}

// produce allocates the batches of an epoch in order, queues them for the
// consumer and hands their chunks to the workers.
func (l *Loader) produce(ctx context.Context, epoch int, order []int, queue chan<- *pendingBatch, jobs chan<- chunk) {
	bs := l.cfg.BatchSize
	views := l.cfg.Pipeline.NumViews()
	for b := range l.NumBatches() {
		idx := order[b*bs : min((b+1)*bs, len(order))]
		n := len(idx)
		size := (n + l.workers - 1) / l.workers
		nchunks := (n + size - 1) / size
		pb := &pendingBatch{
			batch: &Batch{
				X:       make([]float32, views*n*l.h*l.w),
				Labels:  make([]int32, n),
				Indices: append([]int(nil), idx...),
				N:       n, H: l.h, W: l.w, Views: views,
				Number: b,
			},
			errs: make([]error, nchunks),
			done: make(chan struct{}),
		}
		pb.remaining.Store(int32(nchunks))
		select {
		case queue <- pb:
		case <-ctx.Done():
			return
		}
		for k := range nchunks {
			c := chunk{pb: pb, k: k, lo: k * size, hi: min((k+1)*size, n)}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}
}

// finish records chunk k's result and marks the batch done after its last
// chunk.
func (pb *pendingBatch) finish(k int, err error) {
	pb.errs[k] = err
	if pb.remaining.Add(-1) == 0 {
		close(pb.done)
	}
}

// fill reads and preprocesses the samples of one chunk into its batch.
func (l *Loader) fill(ctx context.Context, epoch int, c chunk) error {
	b := c.pb.batch
	plane := b.H * b.W
	for j := c.lo; j < c.hi; j++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		index := b.Indices[j]
		img, label, err := l.set.Example(index)
		if err != nil {
			return fmt.Errorf("epoch %d, batch %d: %w", epoch, b.Number, err)
		}
		views, err := l.cfg.Pipeline.views(img, l.cfg.Seed, epoch, index)
		if err != nil {
			return fmt.Errorf("epoch %d, batch %d: %s example %d: %w", epoch, b.Number, l.set.Name(), index, err)
		}
		for v, m := range views {
			if m.H != b.H || m.W != b.W {
				return fmt.Errorf("epoch %d, batch %d: %s example %d: view %d is %d×%d, but the first example gave %d×%d (all samples must have one size)",
					epoch, b.Number, l.set.Name(), index, v, m.H, m.W, b.H, b.W)
			}
			dst := b.X[(v*b.N+j)*plane : (v*b.N+j+1)*plane]
			Gray(m, dst)
			l.cfg.Pipeline.Normalize.Apply(dst)
		}
		b.Labels[j] = int32(label)
	}
	return nil
}

// Images returns the examples indices of set as one batch, preprocessed for
// evaluation (grayscale and normalization, no augmentation); the batch's
// Indices are the given indices.
func Images(set Set, indices []int, n Normalize) (*Batch, error) {
	if len(indices) == 0 {
		return nil, fmt.Errorf("images of %s: no indices", set.Name())
	}
	sub, err := Subset(set, indices)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	l, err := NewEvalLoader(sub, len(indices), n, 0)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		b.Indices = append([]int(nil), indices...)
		return b, nil
	}
	return nil, fmt.Errorf("images of %s: no batch produced", set.Name())
}
