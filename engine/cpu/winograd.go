package cpu

// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016) for the 3×3,
// stride-1 convolutions of NHWC layers: each 2×2 block of output pixels
// (a tile) is computed from the 4×4 block of input pixels around it as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// per pair of channels, so that over the channels the element-wise product
// becomes 16 independent GEMMs, one per position ξ of the 4×4 transformed
// tile: M[ξ] (tiles × cout) = V[ξ] (tiles × cin) · U[ξ] (cin × cout). That
// is 16 multiplications per tile and channel pair instead of 36, 2.25×
// fewer, for the price of the transforms, which are additions only (and
// halvings in G). Tiles are taken in blocks whose transformed inputs and
// products fit in the L2 cache; each output element is computed by one
// thread in a fixed order, so the result does not depend on the thread
// count.

// winogradMinChannels is the fewest input and output channels for which the
// Winograd route pays: with fewer, the transforms cost more than the
// multiplications they save.
const winogradMinChannels = 64

// winogradLayout reports a float32 convolution winogradF2 computes: 2-D,
// NHWC input and output (batch outermost, channels innermost and
// contiguous), a 3×3 kernel of any layout, stride 1, no dilation,
// non-negative padding, and enough channels.
func winogradLayout(g *convGeom) bool {
	if !g.unitSteps() || g.kerSp[0] != 3 || g.kerSp[1] != 3 || g.inC != 1 || g.outC != 1 ||
		g.cin < winogradMinChannels || g.cout < winogradMinChannels {
		return false
	}
	ax := g.a.axes
	if ax.InputBatch != 0 || g.inSpSt[1] != g.cin || g.inSpSt[0] != g.inSp[1]*g.cin || g.inB != g.inSp[0]*g.inSpSt[0] {
		return false
	}
	if ax.OutputBatch != 0 || g.outSpSt[1] != g.cout || g.outSpSt[0] != g.outSp[1]*g.cout || g.outB != g.outSp[0]*g.outSpSt[0] {
		return false
	}
	for d := range 2 {
		if g.a.paddings[d][0] < 0 || g.a.paddings[d][1] < 0 {
			return false
		}
	}
	return true
}

// winogradF2 computes a convolution of winogradLayout by F(2×2, 3×3).
func winogradF2(x *execution, g *convGeom, in, ker, out []float32) {
	cin, cout := g.cin, g.cout
	h, w := g.outSp[0], g.outSp[1]
	th, tw := (h+1)/2, (w+1)/2
	tiles := g.batch * th * tw

	// The input, zero-padded so that every tile's 4×4 block lies inside.
	hp, wp := 2*th+2, 2*tw+2
	xp := padImagesTo(x, g, in, g.batch, g.inB, cin, hp, wp, 0)
	defer x.b.pool.put(dtypeFloat32, xp)

	nr := x.b.kernel.panelWidth(cout)
	panels := colPanels(cout, nr)
	uLen := len(panels) * nr * cin // one packed U[ξ]
	u := x.b.pool.get(dtypeFloat32, 16*uLen).([]float32)
	defer x.b.pool.put(dtypeFloat32, u)
	vec := x.b.kernel != kernelGeneric // the portable kernel keeps the Go transforms, for tests
	winogradKernel(x, g, ker, u, uLen, panels, nr, vec)

	// Blocks of tiles whose V and M (16 rows each per tile) take about
	// 2 MiB, but at least 64 tiles, so that each packed panel of U read
	// from memory serves 16 micro-kernel calls; rows of V are padded by 16
	// floats so that the four rows of a call do not alias in the L1 cache.
	ldv := cin + 16
	blk := min(256, max(64, (1<<19)/(16*(ldv+cout)))) / mr * mr
	blocks := (tiles + blk - 1) / blk
	// origin is tile t's image and the first output pixel it covers.
	origin := func(t int) (img, y0, x0 int) {
		img, r := t/(th*tw), t%(th*tw)
		return img, 2 * (r / tw), 2 * (r % tw)
	}
	parallelFor(x.b.team, blocks, 1, func(from, to int) {
		t := newTile(x.b.kernel, nr)
		v := x.b.pool.get(dtypeFloat32, 16*blk*ldv).([]float32)
		m := x.b.pool.get(dtypeFloat32, 16*blk*cout).([]float32)
		defer x.b.pool.put(dtypeFloat32, v)
		defer x.b.pool.put(dtypeFloat32, m)
		var ptrs rowPtrs
		for bi := from; bi < to; bi++ {
			t0 := bi * blk
			n := min(blk, tiles-t0)
			for i := range n {
				img, y0, x0 := origin(t0 + i)
				src := xp[((img*hp+y0)*wp+x0)*cin:]
				winogradInput(vec, cin, src, cin, wp*cin, v[i*ldv:], blk*ldv)
			}
			for xi := range 16 {
				a := v[xi*blk*ldv:]
				c := m[xi*blk*cout:]
				for j, pc := range panels {
					pan := u[xi*uLen+j*cin*nr:]
					for r0 := 0; r0 < n; r0 += mr {
						for i := range mr {
							ptrs[i] = &a[min(r0+i, n-1)*ldv]
						}
						t.run(cin, &ptrs, 4, pan, c[r0*cout+pc.c0:], cout, min(mr, n-r0), pc.w, false)
					}
				}
			}
			for i := range n {
				img, y0, x0 := origin(t0 + i)
				dst := out[img*g.outB+y0*w*cout+x0*cout:]
				winogradOutput(vec, cout, m[i*cout:], blk*cout, dst, cout, w*cout, min(2, h-y0), min(2, w-x0))
			}
		}
	})
}

// winogradKernel writes U[ξ] = (G g Gᵀ)[ξ] for every pair of channels, each
// ξ packed as the B operand of the GEMM (panels nr wide, uLen floats), with
//
//	G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
//
// A kernel whose output channels are not contiguous (an input gradient's)
// is first copied into HWIO order, so that the transform runs over
// contiguous output channels, eight at a time where vec allows.
func winogradKernel(x *execution, g *convGeom, ker, u []float32, uLen int, panels []colPanel, nr int, vec bool) {
	cin, cout := g.cin, g.cout
	sy, sx, kerI := g.kerSpSt[0], g.kerSpSt[1], g.kerI
	if g.kerO != 1 {
		hwio := x.b.pool.get(dtypeFloat32, 9*cin*cout).([]float32)
		defer x.b.pool.put(dtypeFloat32, hwio)
		parallelFor(x.b.team, cin, 8, func(from, to int) {
			for s, ko := range g.kerOff {
				for ci := from; ci < to; ci++ {
					row := hwio[(s*cin+ci)*cout : (s*cin+ci+1)*cout]
					src := ko + ci*g.kerI
					for co := range row {
						row[co] = ker[src+co*g.kerO]
					}
				}
			}
		})
		ker, sy, sx, kerI = hwio, 3*cin*cout, cin*cout, cout
	}
	parallelFor(x.b.team, cin, 8, func(from, to int) {
		for ci := from; ci < to; ci++ {
			for j, pc := range panels {
				base := j*cin*nr + ci*nr
				for xi := range 16 {
					clear(u[xi*uLen+base+pc.w : xi*uLen+base+nr])
				}
				o := ci*kerI + pc.c0
				done := winogradKernelVec(vec, pc.w, ker[o:], sy, sx, u[base:], uLen)
				for c := done; c < pc.w; c++ {
					var t [4][3]float32 // G g
					for kx := range 3 {
						g0, g1, g2 := ker[o+c+kx*sx], ker[o+c+sy+kx*sx], ker[o+c+2*sy+kx*sx]
						t[0][kx] = g0
						t[1][kx] = 0.5 * (g0 + g1 + g2)
						t[2][kx] = 0.5 * (g0 - g1 + g2)
						t[3][kx] = g2
					}
					for r := range 4 {
						a, b, e := t[r][0], t[r][1], t[r][2]
						p := (4*r)*uLen + base + c
						u[p] = a
						u[p+uLen] = 0.5 * (a + b + e)
						u[p+2*uLen] = 0.5 * (a - b + e)
						u[p+3*uLen] = e
					}
				}
			}
		}
	})
}

// winogradInput writes V[ξ] = (Bᵀ d B)[ξ] of one tile for n channels: pixel
// (r, c) of the 4×4 block d starts at src[r·row + c·pix]; position ξ goes
// to dst[ξ·ds:], with
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
func winogradInput(vec bool, n int, src []float32, pix, row int, dst []float32, ds int) {
	done := winogradInputVec(vec, n, src, pix, row, dst, ds)
	if done < n {
		winogradInputGo(n-done, src[done:], pix, row, dst[done:], ds)
	}
}

// winogradInputGo is winogradInput in portable Go.
func winogradInputGo(n int, src []float32, pix, row int, dst []float32, ds int) {
	var d [4][4][]float32
	for r := range 4 {
		for c := range 4 {
			d[r][c] = src[r*row+c*pix : r*row+c*pix+n]
		}
	}
	var o [16][]float32
	for xi := range 16 {
		o[xi] = dst[xi*ds : xi*ds+n]
	}
	for k := range n {
		var t [4][4]float32 // Bᵀ d
		for c := range 4 {
			d0, d1, d2, d3 := d[0][c][k], d[1][c][k], d[2][c][k], d[3][c][k]
			t[0][c] = d0 - d2
			t[1][c] = d1 + d2
			t[2][c] = d2 - d1
			t[3][c] = d1 - d3
		}
		for r := range 4 {
			t0, t1, t2, t3 := t[r][0], t[r][1], t[r][2], t[r][3]
			o[4*r][k] = t0 - t2
			o[4*r+1][k] = t1 + t2
			o[4*r+2][k] = t2 - t1
			o[4*r+3][k] = t1 - t3
		}
	}
}

// winogradOutput writes the rows × cols ≤ 2×2 valid output pixels Aᵀ M A
// of one tile for n channels: position ξ of M starts at src[ξ·ds], output
// pixel (r, c) at dst[r·row + c·pix], with
//
//	Aᵀ = [1 1 1 0; 0 1 −1 −1].
func winogradOutput(vec bool, n int, src []float32, ds int, dst []float32, pix, row, rows, cols int) {
	done := 0
	if rows == 2 && cols == 2 {
		done = winogradOutputVec(vec, n, src, ds, dst, pix, row)
	}
	if done < n {
		winogradOutputGo(n-done, src[done:], ds, dst[done:], pix, row, rows, cols)
	}
}

// winogradOutputGo is winogradOutput in portable Go.
func winogradOutputGo(n int, src []float32, ds int, dst []float32, pix, row, rows, cols int) {
	var m [16][]float32
	for xi := range 16 {
		m[xi] = src[xi*ds : xi*ds+n]
	}
	var y [2][2][]float32
	for r := range rows {
		for c := range cols {
			y[r][c] = dst[r*row+c*pix : r*row+c*pix+n]
		}
	}
	for k := range n {
		var s [2][4]float32 // Aᵀ M
		for c := range 4 {
			m0, m1, m2, m3 := m[c][k], m[4+c][k], m[8+c][k], m[12+c][k]
			s[0][c] = m0 + m1 + m2
			s[1][c] = m1 - m2 - m3
		}
		for r := range rows {
			s0, s1, s2, s3 := s[r][0], s[r][1], s[r][2], s[r][3]
			y[r][0][k] = s0 + s1 + s2
			if cols == 2 {
				y[r][1][k] = s1 - s2 - s3
			}
		}
	}
}
