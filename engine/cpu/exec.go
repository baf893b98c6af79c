package cpu

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// kernel runs one node. in holds its input buffers; reuse[i] reports whether
// the kernel may overwrite in[i] (this is its last use and nothing else
// shares it). It returns one buffer per node output.
type kernel func(x *execution, n *node, in []*Buffer) ([]*Buffer, error)

// step is one node of a compiled graph with the slots it reads and writes.
type step struct {
	n      *node
	run    kernel
	in     []int // slot of each input
	out    []int // slot of each output
	frees  []int // slots whose last reader is this step
	reuse  []bool
	outAll bool
}

// Executable is a compiled graph.
type Executable struct {
	backend   *Backend
	name      string
	params    []*value
	paramSlot []int
	outputs   []*value
	outSlot   []int
	steps     []step
	consts    map[int]*Buffer // slot -> constant buffer, owned by the executable
	numSlots  int
}

var _ backends.Executable = (*Executable)(nil)

// Compile implements backends.Builder: it drops nodes the outputs do not
// need, orders the rest, and plans when each buffer can be released.
func (b *Builder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	if len(shardings) > 0 {
		return nil, fmt.Errorf("backend cpu: sharding is not supported")
	}
	outs, err := b.vals(backends.OpTypeIdentity, outputs...)
	if err != nil {
		return nil, err
	}
	b.compiled = true
	scalarOperands(b.nodes)
	scatterIntoAddends(b.nodes, outs)
	foldIntoBatchNorm(b.nodes, outs)
	e := &Executable{backend: b.backend, name: b.name, params: b.params, outputs: outs, consts: map[int]*Buffer{}}

	// Mark the nodes the outputs need.
	live := make([]bool, len(b.nodes))
	var mark func(n *node)
	mark = func(n *node) {
		if live[n.id] {
			return
		}
		live[n.id] = true
		for _, in := range n.inputs {
			mark(in.node)
		}
	}
	for _, o := range outs {
		mark(o.node)
	}

	// Consumers of each live node; graph outputs count as a consumer after every node.
	consumers := map[*node][]*node{}
	for _, n := range b.nodes {
		if live[n.id] {
			for _, in := range n.inputs {
				consumers[in.node] = append(consumers[in.node], n)
			}
		}
	}
	sink := &node{id: len(b.nodes)}
	for _, o := range outs {
		consumers[o.node] = append(consumers[o.node], sink)
	}
	groups, absorbed := fuseGroups(b.nodes, live, consumers)
	fusedMember := map[*node]bool{}
	for _, g := range groups {
		for _, m := range g.members {
			fusedMember[m] = true
		}
	}

	// Slots: one per live value. Parameters always get one (the caller passes them).
	slot := map[*value]int{}
	newSlot := func(v *value) int {
		if s, ok := slot[v]; ok {
			return s
		}
		slot[v] = e.numSlots
		e.numSlots++
		return slot[v]
	}
	for _, p := range b.params {
		e.paramSlot = append(e.paramSlot, newSlot(p))
	}
	lastUse := map[int]int{} // slot -> index of its last reading step
	for _, n := range b.nodes {
		if !live[n.id] || n.op == backends.OpTypeParameter {
			continue
		}
		if n.op == backends.OpTypeConstant {
			s := newSlot(n.outs[0])
			buf := b.backend.newBuffer(n.outs[0].shape)
			copyFlat(buf.flat, n.attr)
			e.consts[s] = buf
			continue
		}
		run := kernel(fusedKernel)
		if g := groups[n]; g != nil {
			// The last member of a group runs the whole group.
			exported := make([]*value, len(g.exported))
			for i, mi := range g.exported {
				exported[i] = g.members[mi].outs[0]
			}
			if g.sum != nil {
				exported = append(exported, g.sum.outs[0])
			}
			n = &node{id: n.id, op: opFused, inputs: g.inputs, outs: exported, attr: g}
		} else if fusedMember[n] || absorbed[n] {
			continue
		} else {
			var err error
			if run, err = kernelFor(n.op); err != nil {
				return nil, err
			}
		}
		st := step{n: n, run: run}
		for _, in := range n.inputs {
			s := slot[in]
			st.in = append(st.in, s)
			lastUse[s] = len(e.steps)
		}
		for _, o := range n.outs {
			st.out = append(st.out, newSlot(o))
		}
		e.steps = append(e.steps, st)
	}
	outputSlots := map[int]bool{}
	for _, o := range outs {
		s := slot[o]
		e.outSlot = append(e.outSlot, s)
		outputSlots[s] = true
	}
	// Release each value after its last reader, unless it is an output or a
	// constant; a kernel may overwrite an input it reads for the last time.
	for i := range e.steps {
		st := &e.steps[i]
		st.reuse = make([]bool, len(st.in))
		for j, s := range st.in {
			if lastUse[s] != i || outputSlots[s] || e.consts[s] != nil {
				continue
			}
			if countOf(st.in, s) == 1 {
				st.reuse[j] = true
			}
			if !containsInt(st.frees, s) {
				st.frees = append(st.frees, s)
			}
		}
	}
	// Outputs of nodes nobody reads (a multi-output node's unused value) are freed at once.
	for i := range e.steps {
		st := &e.steps[i]
		for _, s := range st.out {
			if _, read := lastUse[s]; !read && !outputSlots[s] {
				st.frees = append(st.frees, s)
			}
		}
	}
	return e, nil
}

// opFused marks the synthetic node that runs a fused group.
const opFused = backends.OpTypeInvalid

// scalarOperands lets ops read broadcast operands without materializing
// them. Element-wise binary ops and Where take a BroadcastInDim of a scalar
// (GoMLX's ZerosLike, OnesLike and many gradient terms) as the scalar, and
// one that only expands size-1 axes (same rank, axes in order: the gradient
// of a broadcasting op) as its input, since their kernels broadcast size-1
// axes themselves. The Scatter ops take a broadcast scalar operand as the
// scalar and fill their output with it. A broadcast is dropped if nothing
// else needs it.
func scalarOperands(nodes []*node) {
	for _, n := range nodes {
		elementwise := acceptsScalarOperands(n.op)
		scatter := n.op == backends.OpTypeScatterSum || n.op == backends.OpTypeScatterMax || n.op == backends.OpTypeScatterMin
		if !elementwise && !scatter {
			continue
		}
		for i, in := range n.inputs {
			src := in.node
			if src.op != backends.OpTypeBroadcastInDim || (scatter && i > 0) {
				continue
			}
			if from := src.inputs[0]; from.shape.IsScalar() || (elementwise && expandsOnes(from.shape.Dimensions, src.attr.([]int), in.shape.Dimensions)) {
				n.inputs[i] = from
			}
		}
	}
}

// scatterIntoAddends turns Add(ScatterSum(0, indices, updates), b), where
// nothing else reads the scatter, into ScatterSum(b, indices, updates): the
// updates are added to b directly instead of to a tensor of zeros that is
// then added to b. A sum of scatters (the gradient of several Gathers from
// one tensor) becomes a chain of scatters into one buffer. For floats the
// additions are reassociated: b + (0 + u₁ + u₂) becomes b + u₁ + u₂.
// It runs after scalarOperands, which leaves the scatter's zeros a scalar.
func scatterIntoAddends(nodes []*node, outs []*value) {
	reads := readCounts(nodes, outs)
	for _, n := range nodes {
		if n.op != backends.OpTypeAdd {
			continue
		}
		for i, in := range n.inputs {
			s, b := in.node, n.inputs[1-i]
			if s.op != backends.OpTypeScatterSum || reads[in] != 1 || !isZeroConstant(s.inputs[0]) ||
				!b.shape.Equal(n.outs[0].shape) || !in.shape.Equal(n.outs[0].shape) {
				continue
			}
			n.op, n.attr = backends.OpTypeScatterSum, s.attr
			n.inputs = []*value{b, s.inputs[1], s.inputs[2]}
			reads[s.inputs[1]]++
			reads[s.inputs[2]]++
			break
		}
	}
}

// readCounts counts the reads of each value by nodes and as a graph output.
func readCounts(nodes []*node, outs []*value) map[*value]int {
	reads := map[*value]int{}
	for _, n := range nodes {
		for _, in := range n.inputs {
			reads[in]++
		}
	}
	for _, o := range outs {
		reads[o]++
	}
	return reads
}

// expandsOnes reports whether BroadcastInDim(in, axes) to out only expands
// size-1 axes: same rank, axes in order.
func expandsOnes(in, axes, out []int) bool {
	if len(in) != len(out) {
		return false
	}
	for i, a := range axes {
		if a != i || (in[i] != out[i] && in[i] != 1) {
			return false
		}
	}
	return true
}

func acceptsScalarOperands(op backends.OpType) bool {
	switch op {
	case backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypePow,
		backends.OpTypeRem, backends.OpTypeMax, backends.OpTypeMin, backends.OpTypeEqual, backends.OpTypeNotEqual,
		backends.OpTypeGreaterOrEqual, backends.OpTypeGreaterThan, backends.OpTypeLessOrEqual, backends.OpTypeLessThan,
		backends.OpTypeLogicalAnd, backends.OpTypeLogicalOr, backends.OpTypeWhere:
		return true
	}
	return false
}

func countOf(s []int, v int) int {
	c := 0
	for _, x := range s {
		if x == v {
			c++
		}
	}
	return c
}

func containsInt(s []int, v int) bool { return countOf(s, v) > 0 }

// Finalize implements backends.Executable.
func (e *Executable) Finalize() {
	for s, buf := range e.consts {
		e.backend.release(buf)
		delete(e.consts, s)
	}
}

// Inputs implements backends.Executable.
func (e *Executable) Inputs() ([]string, []shapes.Shape) {
	names := make([]string, len(e.params))
	shps := make([]shapes.Shape, len(e.params))
	for i, p := range e.params {
		names[i] = p.node.attr.(string)
		shps[i] = p.shape
	}
	return names, shps
}

// Outputs implements backends.Executable.
func (e *Executable) Outputs() []shapes.Shape {
	shps := make([]shapes.Shape, len(e.outputs))
	for i, o := range e.outputs {
		shps[i] = o.shape
	}
	return shps
}

// execution is the state of one Execute call.
type execution struct {
	b     *Backend
	slots []*Buffer
	owned []bool
	reuse []bool // for the step being run
}

// alloc returns a new buffer of the given shape.
func (x *execution) alloc(shape shapes.Shape) *Buffer { return x.b.newBuffer(shape) }

// reusable returns in[i] if the running kernel may overwrite it and it has
// the given shape's dtype and size, else nil.
func (x *execution) reusable(in []*Buffer, i int, shape shapes.Shape) *Buffer {
	buf := in[i]
	if !x.reuse[i] || buf.shape.DType != shape.DType || buf.shape.Size() != shape.Size() || buf.store.shared() {
		return nil
	}
	x.reuse[i] = false
	out := &Buffer{shape: shape, flat: buf.flat, store: buf.store}
	buf.store = nil // the reference moves to out: releasing the input slot is a no-op
	return out
}

// Execute implements backends.Executable.
func (e *Executable) Execute(inputs []backends.Buffer, donate []bool, _ backends.DeviceNum) (outputs []backends.Buffer, err error) {
	if len(inputs) != len(e.params) {
		return nil, fmt.Errorf("backend cpu: graph %q takes %d inputs, got %d", e.name, len(e.params), len(inputs))
	}
	x := &execution{b: e.backend, slots: make([]*Buffer, e.numSlots), owned: make([]bool, e.numSlots)}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backend cpu: graph %q: %v\n%s", e.name, r, debug.Stack())
		}
		if err != nil {
			for s, buf := range x.slots {
				if buf != nil && x.owned[s] {
					e.backend.release(buf)
				}
			}
		}
	}()
	for i, in := range inputs {
		buf, err := e.backend.buffer(in)
		if err != nil {
			return nil, err
		}
		if !buf.shape.Equal(e.params[i].shape) {
			return nil, fmt.Errorf("backend cpu: graph %q input %d (%s) is %s, want %s", e.name, i, e.params[i].node.attr, buf.shape, e.params[i].shape)
		}
		s := e.paramSlot[i]
		x.slots[s] = buf
		x.owned[s] = i < len(donate) && donate[i]
	}
	for s, buf := range e.consts {
		x.slots[s] = buf
	}
	ins := make([]*Buffer, 0, 8)
	for i := range e.steps {
		st := &e.steps[i]
		ins = ins[:0]
		for _, s := range st.in {
			ins = append(ins, x.slots[s])
		}
		x.reuse = x.reuse[:0]
		for j, r := range st.reuse {
			x.reuse = append(x.reuse, r && x.owned[st.in[j]])
		}
		var t0 time.Time
		if e.backend.profile != nil {
			t0 = time.Now()
		}
		outs, err := st.run(x, st.n, ins)
		if e.backend.profile != nil {
			e.backend.profile.add(profileKey(st.n), time.Since(t0))
		}
		if err != nil {
			return nil, fmt.Errorf("backend cpu: graph %q: %s: %w", e.name, st.n.op, err)
		}
		for j, s := range st.out {
			x.slots[s] = outs[j]
			x.owned[s] = true
		}
		for _, s := range st.frees {
			if x.owned[s] {
				e.backend.release(x.slots[s])
			}
			x.slots[s] = nil
		}
	}
	outputs = make([]backends.Buffer, len(e.outSlot))
	given := map[int]bool{}
	for i, s := range e.outSlot {
		buf := x.slots[s]
		if x.owned[s] && !given[s] {
			outputs[i] = buf
			given[s] = true
			continue
		}
		// A parameter the caller keeps, a constant, or a repeated output: copy.
		cp := e.backend.newBuffer(buf.shape)
		copyFlat(cp.flat, buf.flat)
		outputs[i] = cp
	}
	// Donated parameters that are not outputs and were never freed go back to the pool.
	for i, s := range e.paramSlot {
		if x.owned[s] && x.slots[s] != nil && !given[s] && i < len(donate) && donate[i] {
			e.backend.release(x.slots[s])
		}
	}
	return outputs, nil
}
