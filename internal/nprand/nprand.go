// Package nprand reproduces the legacy NumPy random generator
// (numpy.random.RandomState, a 32-bit Mersenne Twister) for the few draws
// the original experiments make with it: seeding with an integer, uniform
// doubles, and shuffles. The paper's data splits (Tiny ImageNet train/
// validation, the V1 image-id split) are NumPy shuffles with seed 1000;
// this package lets cotrain produce the same index sets.
package nprand

const (
	stateLen   = 624
	shiftLen   = 397
	matrixA    = 0x9908b0df
	upperMask  = 0x80000000
	lowerMask  = 0x7fffffff
	initFactor = 1812433253
)

// RandomState is the legacy NumPy generator state. The zero value is not
// usable; create one with New.
type RandomState struct {
	mt  [stateLen]uint32
	pos int
}

// New returns the state that numpy.random.seed(seed) produces.
func New(seed uint32) *RandomState {
	r := &RandomState{}
	r.mt[0] = seed
	for i := 1; i < stateLen; i++ {
		prev := r.mt[i-1]
		r.mt[i] = initFactor*(prev^(prev>>30)) + uint32(i)
	}
	r.pos = stateLen
	return r
}

func (r *RandomState) generate() {
	mag := func(y uint32) uint32 { return (y & 1) * matrixA }
	var i int
	for ; i < stateLen-shiftLen; i++ {
		y := r.mt[i]&upperMask | r.mt[i+1]&lowerMask
		r.mt[i] = r.mt[i+shiftLen] ^ y>>1 ^ mag(y)
	}
	for ; i < stateLen-1; i++ {
		y := r.mt[i]&upperMask | r.mt[i+1]&lowerMask
		r.mt[i] = r.mt[i+shiftLen-stateLen] ^ y>>1 ^ mag(y)
	}
	y := r.mt[stateLen-1]&upperMask | r.mt[0]&lowerMask
	r.mt[stateLen-1] = r.mt[shiftLen-1] ^ y>>1 ^ mag(y)
	r.pos = 0
}

// Uint32 returns the next tempered 32-bit output.
func (r *RandomState) Uint32() uint32 {
	if r.pos == stateLen {
		r.generate()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 returns a uniform double in [0, 1) built from two 32-bit outputs,
// as numpy.random.random_sample does.
func (r *RandomState) Float64() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// interval returns a uniform integer in [0, max] by masked rejection
// sampling, NumPy's legacy bounded draw for max < 2^32.
func (r *RandomState) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := r.Uint32() & mask; v <= max {
			return v
		}
	}
}

// Shuffle permutes x in place exactly as numpy.random.shuffle does for a
// one-dimensional array or a list.
func Shuffle[T any](r *RandomState, x []T) {
	for i := len(x) - 1; i > 0; i-- {
		j := r.interval(uint32(i))
		x[i], x[j] = x[j], x[i]
	}
}

// Permutation returns numpy.random.permutation(n): a shuffled 0..n-1.
func (r *RandomState) Permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	Shuffle(r, p)
	return p
}
