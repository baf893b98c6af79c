package cpu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Fusion: chains of element-wise ops that produce tensors of one shape run
// as a single step. The step walks the output in blocks of fuseBlock
// elements; each member computes its block into L1-resident scratch (or
// straight into its output buffer when the value is needed outside the
// chain), so intermediate tensors never reach memory. Operands broadcast
// along some axes are read in runs (see runPlan); a ReduceSum of the chain's
// result can be summed block by block (see sumEpilogue), and a Gather the
// chain reads can be copied row by row from its operand (see
// absorbGathers), so neither the summed nor the gathered tensor is stored.

// fuseBlock is the number of elements a fused step computes at once.
const fuseBlock = 1024

// fusible reports whether n can join a fused group: a float32 or bool
// element-wise op over float32/bool operands.
func fusible(n *node) bool {
	if len(n.outs) != 1 {
		return false
	}
	dt := n.outs[0].shape.DType
	if dt != dtypes.Float32 && dt != dtypes.Bool {
		return false
	}
	for _, in := range n.inputs {
		if d := in.shape.DType; d != dtypes.Float32 && d != dtypes.Bool {
			return false
		}
	}
	switch n.op {
	case backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypeMax,
		backends.OpTypeMin:
		return dt == dtypes.Float32
	case backends.OpTypeEqual, backends.OpTypeNotEqual, backends.OpTypeGreaterOrEqual, backends.OpTypeGreaterThan,
		backends.OpTypeLessOrEqual, backends.OpTypeLessThan:
		return n.inputs[0].shape.DType == dtypes.Float32
	case backends.OpTypeLogicalAnd, backends.OpTypeLogicalOr, backends.OpTypeLogicalNot:
		return dt == dtypes.Bool
	case backends.OpTypeWhere:
		return true
	case backends.OpTypeNeg, backends.OpTypeAbs, backends.OpTypeExp, backends.OpTypeLog, backends.OpTypeSqrt,
		backends.OpTypeRsqrt, backends.OpTypeLogistic, backends.OpTypeTanh:
		return dt == dtypes.Float32
	case backends.OpTypeConvertDType:
		return true // float32 <-> bool
	}
	return false
}

// operandRef names where a member reads an operand: another member
// (member >= 0) or an external input of the group (ext >= 0).
type operandRef struct{ member, ext int }

// fusedGroup is the plan of one fused step.
type fusedGroup struct {
	members []*node
	// reluPair[i] marks member i as x > 0 and member i+1 as Where(that, x,
	// 0): the pair runs as one ReLU-with-mask loop.
	reluPair []bool
	refs     [][]operandRef // per member, per operand
	inputs   []*value       // external inputs, the fused node's inputs
	exported []int          // member index of each output of the fused node
	dims     []int          // the common output dims
	size     int
	// sum, if set, is a ReduceSum of member summed (its only reader) that
	// the group computes block by block, so that member never reaches
	// memory; its result is the fused node's last output.
	sum     *node
	summed  int
	sumPlan reducePlan
	// gathers maps an external input that is the operand of an absorbed
	// Gather (see absorbGathers) to how its rows are read; indices marks
	// the inputs holding such a Gather's indices.
	gathers map[int]*gatherInput
	indices map[int]bool
}

// gatherInput is how a fused group reads the values of an absorbed Gather
// from the Gather's operand: whole rows, located by the indices in group
// input indices.
type gatherInput struct {
	indices int
	attr    gatherAttr
	rowLen  int
}

// gatherFuseMinRow is the shortest Gather row that absorbGathers reads in
// place: shorter rows are cheaper to gather once.
const gatherFuseMinRow = 16

// absorbGathers lets fused groups read Gather results straight from the
// Gather's operand. A float32 Gather on the row path (see gatherRowLen)
// whose every reader is a member of a fused group is absorbed: those
// groups copy the rows they need block by block, and the gathered tensor
// is never materialized. It returns the absorbed Gather nodes.
func absorbGathers(nodes []*node, live []bool, consumers map[*node][]*node, plans map[*node]*fusedGroup) map[*node]bool {
	groupOf := map[*node]*fusedGroup{}
	for _, g := range plans {
		for _, m := range g.members {
			groupOf[m] = g
		}
	}
	absorbed := map[*node]bool{}
	for _, n := range nodes {
		if !live[n.id] || n.op != backends.OpTypeGather || n.outs[0].shape.DType != dtypes.Float32 {
			continue
		}
		a := n.attr.(gatherAttr)
		l := gatherRowLen(a, n.inputs[0].shape.Dimensions, n.outs[0].shape.Rank())
		readers := consumers[n]
		if l < gatherFuseMinRow || len(readers) == 0 {
			continue
		}
		ok := true
		for _, c := range readers {
			ok = ok && groupOf[c] != nil
		}
		if !ok {
			continue
		}
		for _, c := range readers {
			groupOf[c].absorbGather(n, l)
		}
		absorbed[n] = true
	}
	return absorbed
}

// absorbGather makes the group read the Gather n's result (rows of l
// elements) from n's operand.
func (g *fusedGroup) absorbGather(n *node, l int) {
	e := slices.Index(g.inputs, n.outs[0])
	if e < 0 {
		return // another member of the group read it first
	}
	if g.gathers == nil {
		g.gathers, g.indices = map[int]*gatherInput{}, map[int]bool{}
	}
	g.inputs[e] = n.inputs[0]
	g.gathers[e] = &gatherInput{indices: len(g.inputs), attr: n.attr.(gatherAttr), rowLen: l}
	g.indices[len(g.inputs)] = true
	g.inputs = append(g.inputs, n.inputs[1])
}

// fuseGroups partitions the live element-wise nodes into groups. A node
// joins the group of one of its producers only if no value of that group is
// needed, outside the group, before the node: the group then runs in one
// step at the position of its last member. A float32 ReduceSum whose input
// only it reads, and which reduces it at least sumEpilogueRatio-fold, joins
// the group of that input as its epilogue (see sumEpilogue). Groups of one
// member without an epilogue are left to the plain kernels, unless an
// operand repeats (see repeatsOperand).
func fuseGroups(nodes []*node, live []bool, consumers map[*node][]*node) (map[*node]*fusedGroup, map[*node]bool) {
	groupOf := map[*node]*[]*node{}
	for _, n := range nodes {
		if !live[n.id] || !fusible(n) {
			continue
		}
		// Join every producer group the node can join; they merge.
		var merged []*node
		var joined []*[]*node
		for _, in := range n.inputs {
			g := groupOf[in.node]
			if g == nil || slices.Contains(joined, g) || !equalInts(in.node.outs[0].shape.Dimensions, n.outs[0].shape.Dimensions) {
				continue
			}
			if canJoin(append(slices.Clone(merged), *g...), n, consumers) {
				merged = append(merged, *g...)
				joined = append(joined, g)
			}
		}
		slices.SortFunc(merged, func(a, b *node) int { return a.id - b.id })
		g := append(merged, n)
		for _, m := range g {
			groupOf[m] = &g
		}
	}
	sums := map[*[]*node]*node{}
	for _, n := range nodes {
		if !live[n.id] {
			continue
		}
		if g := sumEpilogue(n, groupOf, consumers); g != nil && sums[g] == nil {
			sums[g] = n
		}
	}
	plans := map[*node]*fusedGroup{}
	seen := map[*[]*node]bool{}
	for _, g := range groupOf {
		if seen[g] {
			continue
		}
		seen[g] = true
		sum := sums[g]
		if len(*g) < 2 && sum == nil && !repeatsOperand((*g)[0]) {
			continue
		}
		pg := planGroup(*g, sum, consumers)
		if sum != nil {
			plans[sum] = pg
		} else {
			plans[(*g)[len(*g)-1]] = pg
		}
	}
	return plans, absorbGathers(nodes, live, consumers, plans)
}

// repeatsOperand reports whether n has an operand broadcast in short runs
// (e.g. along a few trailing axes): the plain kernels walk such an operand
// chunk by chunk, which costs more than the fused kernel's block reads
// when chunks are shorter than shortChunk.
func repeatsOperand(n *node) bool {
	out := n.outs[0].shape.Dimensions
	var dims [][]int
	broadcast := false
	for _, in := range n.inputs {
		if s := in.shape.Size(); s != 1 && s != product(out) {
			broadcast = true
		}
		dims = append(dims, operandDims(in.shape))
	}
	return broadcast && product(out[splitPoint(out, dims...):]) < shortChunk
}

// shortChunk is the chunk length below which repeatsOperand prefers the
// fused kernel.
const shortChunk = 64

// sumEpilogueRatio is the least input-to-output size ratio of a ReduceSum
// fused as an epilogue: each thread keeps float64 accumulators for the
// whole output.
const sumEpilogueRatio = 8

// sumEpilogue returns the group that n can join as its ReduceSum epilogue,
// or nil: n must be a float32 ReduceSum, the only reader of a member's
// value, positioned after every member, and no value of the group may be
// needed outside it before n.
func sumEpilogue(n *node, groupOf map[*node]*[]*node, consumers map[*node][]*node) *[]*node {
	if n.op != backends.OpTypeReduceSum || n.outs[0].shape.DType != dtypes.Float32 {
		return nil
	}
	in := n.inputs[0]
	g := groupOf[in.node]
	if g == nil || len(consumers[in.node]) != 1 || in.shape.Size() < sumEpilogueRatio*max(1, n.outs[0].shape.Size()) {
		return nil
	}
	if last := (*g)[len(*g)-1]; last.id > n.id || !canJoin(*g, n, consumers) {
		return nil
	}
	return g
}

func canJoin(group []*node, n *node, consumers map[*node][]*node) bool {
	in := map[*node]bool{n: true}
	for _, m := range group {
		in[m] = true
	}
	for _, m := range group {
		for _, c := range consumers[m] {
			if !in[c] && c.id < n.id {
				return false
			}
		}
	}
	return true
}

func planGroup(members []*node, sum *node, consumers map[*node][]*node) *fusedGroup {
	g := &fusedGroup{members: members, dims: members[0].outs[0].shape.Dimensions, sum: sum}
	g.size = product(g.dims)
	index := map[*node]int{}
	for i, m := range members {
		index[m] = i
	}
	if sum != nil {
		g.summed = index[sum.inputs[0].node]
		g.sumPlan = planReduce(g.dims, sum.attr.([]int))
		index[sum] = -1 // a reader inside the group
	}
	extIndex := map[*value]int{}
	for _, m := range members {
		refs := make([]operandRef, len(m.inputs))
		for j, in := range m.inputs {
			if mi, ok := index[in.node]; ok {
				refs[j] = operandRef{member: mi, ext: -1}
				continue
			}
			e, ok := extIndex[in]
			if !ok {
				e = len(g.inputs)
				extIndex[in] = e
				g.inputs = append(g.inputs, in)
			}
			refs[j] = operandRef{member: -1, ext: e}
		}
		g.refs = append(g.refs, refs)
	}
	for i, m := range members {
		for _, c := range consumers[m] {
			if _, ok := index[c]; !ok {
				g.exported = append(g.exported, i)
				break
			}
		}
	}
	g.reluPair = make([]bool, len(members))
	for i := 0; i+1 < len(members); i++ {
		gt, wh := members[i], members[i+1]
		if gt.op == backends.OpTypeGreaterThan && isZeroConstant(gt.inputs[1]) && gt.inputs[0].shape.Size() == g.size &&
			wh.op == backends.OpTypeWhere && wh.inputs[0] == gt.outs[0] && wh.inputs[1] == gt.inputs[0] && isZeroConstant(wh.inputs[2]) {
			g.reluPair[i] = true
		}
	}
	return g
}

func (g *fusedGroup) String() string {
	ops := make([]string, len(g.members))
	for i, m := range g.members {
		ops[i] = m.op.String()
	}
	if g.sum != nil {
		ops = append(ops, "ReduceSum")
	}
	for range g.gathers {
		ops = append([]string{"Gather"}, ops...)
	}
	return "Fused[" + strings.Join(ops, ",") + "]"
}

// blockOperand is one operand of a member within a block: a vector of the
// block's length or a scalar splat.
type blockOperand struct {
	f32   []float32
	b     []bool
	splat bool
}

// fusedKernel runs a fused group.
func fusedKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	g := n.attr.(*fusedGroup)
	outs := make([]*Buffer, len(g.exported), len(g.exported)+1)
	isExport := make([]int, len(g.members)) // output index + 1, or 0
	for oi, mi := range g.exported {
		isExport[mi] = oi + 1
		shape := g.members[mi].outs[0].shape
		if mi == len(g.members)-1 {
			// The last member may overwrite an input it reads for the last time:
			// every other member of a block is computed before it writes.
			for i := range in {
				if g.gathers[i] != nil || g.indices[i] {
					continue // read at other positions than the block's
				}
				if buf := x.reusable(in, i, shape); buf != nil {
					outs[oi] = buf
					break
				}
			}
		}
		if outs[oi] == nil {
			outs[oi] = x.alloc(shape)
		}
	}
	// External inputs that are neither full-size nor scalars: a periodic
	// operand (broadcast only over leading axes, e.g. per-channel values) is
	// tiled once so every block reads a slice of the tile; others are
	// gathered per block.
	broadcast := make([]bool, len(in))
	tiles := make([]any, len(in))
	periods := make([]int, len(in))
	plans := make([]runPlan, len(in))
	rowStarts := make([][]int, len(in)) // of the gathered inputs' rows
	for i, buf := range in {
		if gi := g.gathers[i]; gi != nil {
			ib := newIndexBatch(in[gi.indices].shape.Dimensions, gi.attr.indexVectorAxis)
			offs, err := windowStarts(x.b.team, in[gi.indices].flat, ib, gi.attr.startIndexMap, buf.shape.Dimensions, gi.attr.sliceSizes, true)
			if err != nil {
				for _, o := range outs {
					x.b.release(o)
				}
				return nil, fmt.Errorf("Gather: %w", err)
			}
			rowStarts[i] = offs
			continue
		}
		if g.indices[i] {
			continue
		}
		if s := buf.shape.Size(); s != g.size && s != 1 {
			broadcast[i] = true
			if p := period(buf.shape.Dimensions, g.dims); p > 0 {
				periods[i] = p
				tiles[i] = tile1D(buf.flat, p, fuseBlock+p)
			} else {
				plans[i] = newRunPlan(buf.shape.Dimensions, g.dims)
			}
		}
	}
	evals := make([]memberEval, len(g.members))
	for mi, m := range g.members {
		e, err := evaluator(m)
		if err != nil {
			for _, o := range outs {
				x.b.release(o)
			}
			return nil, err
		}
		evals[mi] = e
	}
	blocks := (g.size + fuseBlock - 1) / fuseBlock
	// run evaluates blocks [from, to), adding the ReduceSum epilogue's
	// values into acc when there is one.
	run := func(acc []float64, from, to int) {
		vals := make([]blockOperand, len(g.members))
		scratchF := make([][]float32, len(g.members))
		scratchB := make([][]bool, len(g.members))
		extVals := make([]blockOperand, len(in))
		extScratch := make([]blockOperand, len(in))
		ops := make([]blockOperand, 0, 3)
		idx := make([]int, len(g.dims))
		for e, buf := range in {
			if (broadcast[e] && periods[e] == 0) || rowStarts[e] != nil {
				switch buf.flat.(type) {
				case []float32:
					extScratch[e].f32 = make([]float32, fuseBlock)
				case []bool:
					extScratch[e].b = make([]bool, fuseBlock)
				}
			}
		}
		for b := from; b < to; b++ {
			start := b * fuseBlock
			end := min(g.size, start+fuseBlock)
			nb := end - start
			for e, buf := range in {
				switch {
				case rowStarts[e] != nil:
					dst := extScratch[e].f32[:nb]
					gatherBlock(dst, buf.flat.([]float32), rowStarts[e], g.gathers[e].rowLen, start)
					extVals[e] = blockOperand{f32: dst}
				case !g.indices[e]:
					extVals[e] = blockOf(buf.flat, start, end, broadcast[e], periods[e], tiles[e], plans[e], extScratch[e], idx)
				}
			}
			for mi := 0; mi < len(g.members); mi++ {
				ops = ops[:0]
				for _, r := range g.refs[mi] {
					if r.member >= 0 {
						ops = append(ops, vals[r.member])
					} else {
						ops = append(ops, extVals[r.ext])
					}
				}
				dst := g.destination(mi, outs, isExport, scratchF, scratchB, start, end, nb)
				if g.reluPair[mi] && !ops[0].splat {
					// x > 0 and Where(x > 0, x, 0) in one pass.
					next := g.destination(mi+1, outs, isExport, scratchF, scratchB, start, end, nb)
					reluMask(next.f32, dst.b, ops[0].f32[:nb])
					vals[mi], vals[mi+1] = dst, next
					mi++
					continue
				}
				evals[mi](dst, ops)
				vals[mi] = dst
			}
			if acc != nil {
				sumBlock(g.sumPlan, acc, vals[g.summed].f32, start, idx)
			}
		}
	}
	grain := max(1, elementGrain/fuseBlock)
	if g.sum == nil {
		parallelFor(x.b.team, blocks, grain, func(from, to int) { run(nil, from, to) })
		return outs, nil
	}
	// The epilogue's float64 accumulators: one per part of the blocks,
	// added in part order.
	parts, per := reduceSplit(blocks, grain)
	accs := make([]*Buffer, parts)
	parallelParts(x.b.team, blocks, parts, per, func(t, from, to int) {
		accs[t] = x.alloc(shapes.Make(dtypes.Float64, g.sumPlan.outSize))
		acc := accs[t].flat.([]float64)
		clear(acc)
		run(acc, from, to)
	})
	out := x.alloc(g.sum.outs[0].shape)
	o := out.flat.([]float32)
	parallelFor(x.b.team, len(o), elementGrain, func(from, to int) {
		a := accs[0].flat.([]float64)
		for _, b := range accs[1:] {
			for i, v := range b.flat.([]float64)[from:to] {
				a[from+i] += v
			}
		}
		for i := from; i < to; i++ {
			o[i] = float32(a[i])
		}
	})
	for _, acc := range accs {
		x.b.release(acc)
	}
	outs = append(outs, out)
	return outs, nil
}

// gatherBlock fills dst with the gathered values at flat positions start,
// start+1, ...: row r (l elements) starts at offs[r] in src.
func gatherBlock(dst, src []float32, offs []int, l, start int) {
	r, i := start/l, start%l
	for k := 0; k < len(dst); {
		run := min(l-i, len(dst)-k)
		o := offs[r] + i
		copy(dst[k:k+run], src[o:o+run])
		k += run
		r++
		i = 0
	}
}

// sumBlock adds v, the values of a block at flat positions start,
// start+1, ... of the reduced input, to the float64 accumulators acc of a
// reduction planned by p; idx is scratch of len(p.dims).
func sumBlock(p reducePlan, acc []float64, v []float32, start int, idx []int) {
	r := len(p.dims)
	decode(start, p.dims, idx)
	off := 0 // output offset of the outer groups' position
	for g := range r - 1 {
		off += idx[g] * p.ostride[g]
	}
	inner, reduced := p.dims[r-1], p.reduced[r-1]
	i := idx[r-1]
	for k := 0; k < len(v); {
		if reduced && i == 0 && len(v)-k >= inner {
			// Whole rows, summed into consecutive outputs of the next
			// (kept) group at once.
			count := (len(v) - k) / inner
			if r >= 2 {
				count = min(count, p.dims[r-2]-idx[r-2])
			}
			addRowSums(acc[off:off+count], v[k:k+count*inner], inner)
			k += count * inner
			if r >= 2 {
				idx[r-2] += count - 1 // the carry below steps past the last row
				off += count - 1
			}
		} else {
			run := min(inner-i, len(v)-k)
			if reduced {
				acc[off] += sumToF64(v[k : k+run])
			} else {
				accToF64(acc[off+i:off+i+run], v[k:k+run])
			}
			k += run
			i += run
			if i < inner {
				break
			}
		}
		i = 0
		off = nextIndex(idx[:r-1], p.dims, p.ostride, off)
	}
}

// blockOf returns an external input's operand for the block [start, end):
// a scalar splat, a slice of the input or of its tile (periodic operands),
// or the broadcast values read into scratch.
func blockOf(flat any, start, end int, broadcast bool, period int, tile any, plan runPlan, scratch blockOperand, idx []int) blockOperand {
	nb := end - start
	switch f := flat.(type) {
	case []float32:
		switch {
		case len(f) == 1:
			return blockOperand{f32: f, splat: true}
		case !broadcast:
			return blockOperand{f32: f[start:end]}
		case period > 0:
			o := start % period
			return blockOperand{f32: tile.([]float32)[o : o+nb]}
		}
		readRuns(plan, scratch.f32[:nb], f, start, idx)
		return blockOperand{f32: scratch.f32[:nb]}
	case []bool:
		switch {
		case len(f) == 1:
			return blockOperand{b: f, splat: true}
		case !broadcast:
			return blockOperand{b: f[start:end]}
		case period > 0:
			o := start % period
			return blockOperand{b: tile.([]bool)[o : o+nb]}
		}
		readRuns(plan, scratch.b[:nb], f, start, idx)
		return blockOperand{b: scratch.b[:nb]}
	}
	return blockOperand{}
}

// period returns P if an operand of dims broadcast to out repeats with
// period P in the flattened output (its non-unit axes form a suffix equal to
// out's), else 0.
func period(in, out []int) int {
	k := 0
	for k < len(in) && in[k] == 1 {
		k++
	}
	for i := k; i < len(in); i++ {
		if in[i] != out[i] {
			return 0
		}
	}
	return product(out[k:])
}

// tile1D repeats the first p elements of flat to length n.
func tile1D(flat any, p, n int) any {
	switch f := flat.(type) {
	case []float32:
		t := make([]float32, n)
		for i := range t {
			t[i] = f[i%p]
		}
		return t
	case []bool:
		t := make([]bool, n)
		for i := range t {
			t[i] = f[i%p]
		}
		return t
	}
	return nil
}

// destination is where member mi writes its block: its output buffer when
// the value is needed outside the group, else per-thread scratch.
func (g *fusedGroup) destination(mi int, outs []*Buffer, isExport []int, scratchF [][]float32, scratchB [][]bool, start, end, nb int) blockOperand {
	var dst blockOperand
	if oi := isExport[mi]; oi > 0 {
		switch f := outs[oi-1].flat.(type) {
		case []float32:
			dst.f32 = f[start:end]
		case []bool:
			dst.b = f[start:end]
		}
		return dst
	}
	if g.members[mi].outs[0].shape.DType == dtypes.Float32 {
		if scratchF[mi] == nil {
			scratchF[mi] = make([]float32, fuseBlock)
		}
		dst.f32 = scratchF[mi][:nb]
		return dst
	}
	if scratchB[mi] == nil {
		scratchB[mi] = make([]bool, fuseBlock)
	}
	dst.b = scratchB[mi][:nb]
	return dst
}

// runPlan reads a broadcast operand of a fused group block by block. The
// output axes are merged into groups along which the operand advances by a
// fixed stride (0 where it is repeated), so a block is a few runs over the
// innermost group — a copy, or one value repeated — rather than an index
// computation per element.
type runPlan struct {
	dims []int // output group sizes, outermost first
	st   []int // operand stride per group, 0 where the operand repeats
}

// newRunPlan plans an operand of dims in (same rank as out, size-1 axes
// broadcast) read in the row-major order of out.
func newRunPlan(in, out []int) runPlan {
	var p runPlan
	st := strides(in)
	for a, d := range out {
		if d == 1 {
			continue
		}
		s := st[a]
		if in[a] == 1 {
			s = 0
		}
		if k := len(p.dims) - 1; k >= 0 && p.st[k] == s*d {
			p.dims[k] *= d
			p.st[k] = s
			continue
		}
		p.dims = append(p.dims, d)
		p.st = append(p.st, s)
	}
	return p
}

// readRuns fills dst with the operand's elements src for output positions
// start, start+1, ...; idx is scratch of len(p.dims).
func readRuns[T any](p runPlan, dst, src []T, start int, idx []int) {
	r := len(p.dims)
	decode(start, p.dims, idx)
	off := 0 // operand offset of the outer groups' position
	for g := range r - 1 {
		off += idx[g] * p.st[g]
	}
	inner, s := p.dims[r-1], p.st[r-1]
	i := idx[r-1]
	for k := 0; k < len(dst); {
		if g := r - 2; i == 0 && s == 0 && g >= 0 && len(dst)-k >= inner {
			// Whole runs of repeated values along the next group at once.
			count := min(p.dims[g]-idx[g], (len(dst)-k)/inner)
			repeat(dst[k:k+count*inner], src[off:], p.st[g], inner, count)
			k += count * inner
			idx[g] += count - 1 // the carry below steps past the last run
			off += (count - 1) * p.st[g]
		} else {
			run := min(inner-i, len(dst)-k)
			out := dst[k : k+run]
			switch s {
			case 0:
				fill(out, src[off])
			case 1:
				copy(out, src[off+i:off+i+run])
			default:
				for j := range out {
					out[j] = src[off+(i+j)*s]
				}
			}
			k += run
			i += run
			if i < inner {
				break
			}
		}
		i = 0
		off = nextIndex(idx[:r-1], p.dims, p.st, off)
	}
}

// memberEval computes one member's block from its operands.
type memberEval func(dst blockOperand, ops []blockOperand)

// evaluator returns the block loop of a member, with its element functions
// looked up once.
func evaluator(m *node) (memberEval, error) {
	switch m.op {
	case backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypeMax, backends.OpTypeMin:
		f, _ := numberFuncs[float32](m.op)
		return func(dst blockOperand, ops []blockOperand) { applyBin(f, dst.f32, ops[0], ops[1], f32Of) }, nil
	case backends.OpTypeEqual, backends.OpTypeNotEqual, backends.OpTypeGreaterOrEqual, backends.OpTypeGreaterThan,
		backends.OpTypeLessOrEqual, backends.OpTypeLessThan:
		f, _ := compareFuncs[float32](m.op)
		return func(dst blockOperand, ops []blockOperand) { applyBin(f, dst.b, ops[0], ops[1], f32Of) }, nil
	case backends.OpTypeLogicalAnd, backends.OpTypeLogicalOr:
		f, _ := boolFuncs(m.op)
		return func(dst blockOperand, ops []blockOperand) { applyBin(f, dst.b, ops[0], ops[1], boolOf) }, nil
	case backends.OpTypeLogicalNot, backends.OpTypeWhere, backends.OpTypeConvertDType, backends.OpTypeNeg:
		return func(dst blockOperand, ops []blockOperand) { evalMember(m.op, nil, dst, ops) }, nil
	}
	f := floatUnary[float32](m.op)
	if f == nil {
		return nil, fmt.Errorf("fused %s is not implemented", m.op)
	}
	return func(dst blockOperand, ops []blockOperand) { evalMember(m.op, f, dst, ops) }, nil
}

// f32Of and boolOf give applyBin an operand's values and whether they are
// a splat.
func f32Of(o blockOperand) ([]float32, bool) { return o.f32, o.splat }
func boolOf(o blockOperand) ([]bool, bool)   { return o.b, o.splat }

// evalMember computes the block of a member that is not a binary op; f is
// the element function of a float unary op.
func evalMember(op backends.OpType, f func(float32) float32, dst blockOperand, ops []blockOperand) {
	switch op {
	case backends.OpTypeLogicalNot:
		a := ops[0]
		for i := range dst.b {
			if a.splat {
				dst.b[i] = !a.b[0]
			} else {
				dst.b[i] = !a.b[i]
			}
		}
	case backends.OpTypeWhere:
		evalWhere(dst, ops)
	case backends.OpTypeConvertDType:
		a := ops[0]
		switch {
		case dst.f32 != nil && a.b != nil:
			for i := range dst.f32 {
				v := a.b[0]
				if !a.splat {
					v = a.b[i]
				}
				dst.f32[i] = 0
				if v {
					dst.f32[i] = 1
				}
			}
		case dst.b != nil && a.f32 != nil:
			for i := range dst.b {
				v := a.f32[0]
				if !a.splat {
					v = a.f32[i]
				}
				dst.b[i] = v != 0
			}
		case dst.f32 != nil:
			splatOrCopy(dst.f32, a.f32, a.splat)
		default:
			splatOrCopy(dst.b, a.b, a.splat)
		}
	case backends.OpTypeNeg:
		a := ops[0]
		if a.splat {
			for i := range dst.f32 {
				dst.f32[i] = -a.f32[0]
			}
			return
		}
		src := a.f32[:len(dst.f32)]
		for i := range dst.f32 {
			dst.f32[i] = -src[i]
		}
	default:
		a := ops[0]
		for i := range dst.f32 {
			if a.splat {
				dst.f32[i] = f(a.f32[0])
			} else {
				dst.f32[i] = f(a.f32[i])
			}
		}
	}
}

func splatOrCopy[T any](dst, src []T, splat bool) {
	if splat {
		for i := range dst {
			dst[i] = src[0]
		}
		return
	}
	copy(dst, src)
}

func applyBin[T, O any](f binFuncs[T, O], dst []O, a, b blockOperand, get func(blockOperand) ([]T, bool)) {
	av, as := get(a)
	bv, bs := get(b)
	switch {
	case as && bs:
		f.vs(dst[:1], av[:1], bv[0])
		for i := 1; i < len(dst); i++ {
			dst[i] = dst[0]
		}
	case as:
		f.sv(dst, av[0], bv)
	case bs:
		f.vs(dst, av, bv[0])
	default:
		f.vv(dst, av, bv)
	}
}

func evalWhere(dst blockOperand, ops []blockOperand) {
	c, t, f := ops[0], ops[1], ops[2]
	if dst.f32 != nil && !c.splat {
		cc := c.b[:len(dst.f32)]
		switch {
		case !t.splat && f.splat && f.f32[0] == 0:
			whereZero(dst.f32, cc, t.f32[:len(cc)])
			return
		case !t.splat && f.splat:
			tt, fv := t.f32[:len(cc)], f.f32[0]
			for i, ci := range cc {
				if ci {
					dst.f32[i] = tt[i]
				} else {
					dst.f32[i] = fv
				}
			}
			return
		case t.splat && !f.splat:
			tv, ff := t.f32[0], f.f32[:len(cc)]
			for i, ci := range cc {
				if ci {
					dst.f32[i] = tv
				} else {
					dst.f32[i] = ff[i]
				}
			}
			return
		case !t.splat && !f.splat:
			tt, ff := t.f32[:len(cc)], f.f32[:len(cc)]
			for i, ci := range cc {
				if ci {
					dst.f32[i] = tt[i]
				} else {
					dst.f32[i] = ff[i]
				}
			}
			return
		}
	}
	if dst.f32 != nil {
		for i := range dst.f32 {
			cond := c.b[0]
			if !c.splat {
				cond = c.b[i]
			}
			src, splat := f.f32, f.splat
			if cond {
				src, splat = t.f32, t.splat
			}
			if splat {
				dst.f32[i] = src[0]
			} else {
				dst.f32[i] = src[i]
			}
		}
		return
	}
	for i := range dst.b {
		cond := c.b[0]
		if !c.splat {
			cond = c.b[i]
		}
		src, splat := f.b, f.splat
		if cond {
			src, splat = t.b, t.splat
		}
		if splat {
			dst.b[i] = src[0]
		} else {
			dst.b[i] = src[i]
		}
	}
}
