package robustness

// Exported for the external benchmarks in model_bench_test.go.
var (
	StripeSet   = stripeSet
	BenchImages = benchImages
)
