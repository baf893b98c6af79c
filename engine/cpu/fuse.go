package cpu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Fusion: chains of element-wise ops that produce tensors of one shape run
// as a single step. The step walks the output in blocks of fuseBlock
// elements; each member computes its block into L1-resident scratch (or
// straight into its output buffer when the value is needed outside the
// chain), so intermediate tensors never reach memory.

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
}

// fuseGroups partitions the live element-wise nodes into groups of at least
// two members. A node joins the group of one of its producers only if no
// value of that group is needed, outside the group, before the node: the
// group then runs in one step at the position of its last member.
func fuseGroups(nodes []*node, live []bool, consumers map[*node][]*node) map[*node]*fusedGroup {
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
	plans := map[*node]*fusedGroup{}
	seen := map[*[]*node]bool{}
	for _, g := range groupOf {
		if seen[g] || len(*g) < 2 {
			seen[g] = true
			continue
		}
		seen[g] = true
		last := (*g)[len(*g)-1]
		plans[last] = planGroup(*g, consumers)
	}
	return plans
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

func planGroup(members []*node, consumers map[*node][]*node) *fusedGroup {
	g := &fusedGroup{members: members, dims: members[0].outs[0].shape.Dimensions}
	g.size = product(g.dims)
	index := map[*node]int{}
	for i, m := range members {
		index[m] = i
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
	outs := make([]*Buffer, len(g.exported))
	isExport := make([]int, len(g.members)) // output index + 1, or 0
	for oi, mi := range g.exported {
		isExport[mi] = oi + 1
		shape := g.members[mi].outs[0].shape
		if mi == len(g.members)-1 {
			// The last member may overwrite an input it reads for the last time:
			// every other member of a block is computed before it writes.
			for i := range in {
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
	for i, buf := range in {
		if s := buf.shape.Size(); s != g.size && s != 1 {
			broadcast[i] = true
			if p := period(buf.shape.Dimensions, g.dims); p > 0 {
				periods[i] = p
				tiles[i] = tile1D(buf.flat, p, fuseBlock+p)
			}
		}
	}
	blocks := (g.size + fuseBlock - 1) / fuseBlock
	var err error
	parallelFor(x.b.threads, blocks, max(1, elementGrain/fuseBlock), func(from, to int) {
		vals := make([]blockOperand, len(g.members))
		scratchF := make([][]float32, len(g.members))
		scratchB := make([][]bool, len(g.members))
		extScratch := make([][]float32, len(in))
		extScratchB := make([][]bool, len(in))
		for b := from; b < to; b++ {
			start := b * fuseBlock
			end := min(g.size, start+fuseBlock)
			nb := end - start
			ext := func(e int) blockOperand {
				buf := in[e]
				switch f := buf.flat.(type) {
				case []float32:
					if len(f) == 1 {
						return blockOperand{f32: f, splat: true}
					}
					if !broadcast[e] {
						return blockOperand{f32: f[start:end]}
					}
					if p := periods[e]; p > 0 {
						o := start % p
						return blockOperand{f32: tiles[e].([]float32)[o : o+nb]}
					}
					if extScratch[e] == nil {
						extScratch[e] = make([]float32, fuseBlock)
					}
					gatherBroadcast(extScratch[e][:nb], f, buf.shape.Dimensions, g.dims, start)
					return blockOperand{f32: extScratch[e][:nb]}
				case []bool:
					if len(f) == 1 {
						return blockOperand{b: f, splat: true}
					}
					if !broadcast[e] {
						return blockOperand{b: f[start:end]}
					}
					if p := periods[e]; p > 0 {
						o := start % p
						return blockOperand{b: tiles[e].([]bool)[o : o+nb]}
					}
					if extScratchB[e] == nil {
						extScratchB[e] = make([]bool, fuseBlock)
					}
					gatherBroadcast(extScratchB[e][:nb], f, buf.shape.Dimensions, g.dims, start)
					return blockOperand{b: extScratchB[e][:nb]}
				}
				return blockOperand{}
			}
			for mi := 0; mi < len(g.members); mi++ {
				m := g.members[mi]
				ops := make([]blockOperand, len(m.inputs))
				for j, r := range g.refs[mi] {
					if r.member >= 0 {
						ops[j] = vals[r.member]
					} else {
						ops[j] = ext(r.ext)
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
				if e := evalMember(m, dst, ops); e != nil {
					err = e
					return
				}
				vals[mi] = dst
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
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

// gatherBroadcast fills dst with the elements of a broadcast operand (dims
// inDims, same rank as outDims or a prefix-free broadcast) for output
// positions start, start+1, ...
func gatherBroadcast[T any](dst, src []T, inDims, outDims []int, start int) {
	rank := len(outDims)
	st := strides(inDims)
	ist := make([]int, rank)
	for i := range rank {
		if inDims[i] != 1 {
			ist[i] = st[i]
		}
	}
	idx := make([]int, rank)
	decode(start, outDims, idx)
	off := 0
	for i := range rank {
		off += idx[i] * ist[i]
	}
	for k := range dst {
		dst[k] = src[off]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			off += ist[i]
			if idx[i] < outDims[i] {
				break
			}
			off -= ist[i] * outDims[i]
			idx[i] = 0
		}
	}
}

// evalMember computes one member's block.
func evalMember(m *node, dst blockOperand, ops []blockOperand) error {
	switch m.op {
	case backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypeMax, backends.OpTypeMin:
		f, _ := numberFuncs[float32](m.op)
		applyBin(f, dst.f32, ops[0], ops[1], func(o blockOperand) ([]float32, bool) { return o.f32, o.splat })
		return nil
	case backends.OpTypeEqual, backends.OpTypeNotEqual, backends.OpTypeGreaterOrEqual, backends.OpTypeGreaterThan,
		backends.OpTypeLessOrEqual, backends.OpTypeLessThan:
		f, _ := compareFuncs[float32](m.op)
		applyBin(f, dst.b, ops[0], ops[1], func(o blockOperand) ([]float32, bool) { return o.f32, o.splat })
		return nil
	case backends.OpTypeLogicalAnd, backends.OpTypeLogicalOr:
		f, _ := boolFuncs(m.op)
		applyBin(f, dst.b, ops[0], ops[1], func(o blockOperand) ([]bool, bool) { return o.b, o.splat })
		return nil
	case backends.OpTypeLogicalNot:
		a := ops[0]
		for i := range dst.b {
			if a.splat {
				dst.b[i] = !a.b[0]
			} else {
				dst.b[i] = !a.b[i]
			}
		}
		return nil
	case backends.OpTypeWhere:
		return evalWhere(dst, ops)
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
		return nil
	case backends.OpTypeNeg:
		a := ops[0]
		if a.splat {
			for i := range dst.f32 {
				dst.f32[i] = -a.f32[0]
			}
			return nil
		}
		src := a.f32[:len(dst.f32)]
		for i := range dst.f32 {
			dst.f32[i] = -src[i]
		}
		return nil
	default:
		f := floatUnary[float32](m.op)
		if f == nil {
			return fmt.Errorf("fused %s is not implemented", m.op)
		}
		a := ops[0]
		for i := range dst.f32 {
			if a.splat {
				dst.f32[i] = f(a.f32[0])
			} else {
				dst.f32[i] = f(a.f32[i])
			}
		}
		return nil
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

func evalWhere(dst blockOperand, ops []blockOperand) error {
	c, t, f := ops[0], ops[1], ops[2]
	if dst.f32 != nil && !c.splat {
		cc := c.b[:len(dst.f32)]
		switch {
		case !t.splat && f.splat && f.f32[0] == 0:
			whereZero(dst.f32, cc, t.f32[:len(cc)])
			return nil
		case !t.splat && f.splat:
			tt, fv := t.f32[:len(cc)], f.f32[0]
			for i, ci := range cc {
				if ci {
					dst.f32[i] = tt[i]
				} else {
					dst.f32[i] = fv
				}
			}
			return nil
		case t.splat && !f.splat:
			tv, ff := t.f32[0], f.f32[:len(cc)]
			for i, ci := range cc {
				if ci {
					dst.f32[i] = tv
				} else {
					dst.f32[i] = ff[i]
				}
			}
			return nil
		case !t.splat && !f.splat:
			tt, ff := t.f32[:len(cc)], f.f32[:len(cc)]
			for i, ci := range cc {
				if ci {
					dst.f32[i] = tt[i]
				} else {
					dst.f32[i] = ff[i]
				}
			}
			return nil
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
		return nil
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
	return nil
}
