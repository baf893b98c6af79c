package corrupt

// The lossy part of baseline JPEG as libjpeg (IJG 6b, and libjpeg-turbo,
// which Pillow uses) performs it with its default settings: RGB → YCbCr in
// 16-bit fixed point, 4:2:0 chroma downsampling with alternating rounding
// bias, the "islow" integer forward DCT (Loeffler–Ligtenberg–Moschytz,
// 13-bit constants), quantisation with the Annex K tables scaled by the
// IJG quality formula (baseline: entries clamped to 255), the islow inverse
// DCT, "fancy" triangle chroma upsampling and fixed-point YCbCr → RGB.
// Entropy coding is lossless and is skipped, so the result equals
// Image.open(img.save(format="JPEG", quality=q)) in Pillow without writing
// a file.

// Annex K quantisation tables in natural (row-major) order.
var stdLumaQuant = [64]int32{
	16, 11, 10, 16, 24, 40, 51, 61,
	12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56,
	14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77,
	24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101,
	72, 92, 95, 98, 112, 100, 103, 99,
}

var stdChromaQuant = [64]int32{
	17, 18, 24, 47, 99, 99, 99, 99,
	18, 21, 26, 66, 99, 99, 99, 99,
	24, 26, 56, 99, 99, 99, 99, 99,
	47, 66, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
}

// scaledQuant is jpeg_set_quality(quality, force_baseline=TRUE) for one
// table: scale 5000/q below 50, 200-2q above, entries (b·scale+50)/100
// clamped to [1, 255].
func scaledQuant(base *[64]int32, quality int) (q [64]int32) {
	quality = min(max(quality, 1), 100)
	scale := int32(200 - 2*quality)
	if quality < 50 {
		scale = int32(5000 / quality)
	}
	for i, b := range base {
		v := (b*scale + 50) / 100
		q[i] = min(max(v, 1), 255)
	}
	return q
}

// Fixed-point constants of the islow DCTs (CONST_BITS = 13).
const (
	constBits  = 13
	pass1Bits  = 2
	fix0298    = 2446  // FIX(0.298631336)
	fix0390    = 3196  // FIX(0.390180644)
	fix0541    = 4433  // FIX(0.541196100)
	fix0765    = 6270  // FIX(0.765366865)
	fix0899    = 7373  // FIX(0.899976223)
	fix1175    = 9633  // FIX(1.175875602)
	fix1501    = 12299 // FIX(1.501321110)
	fix1847    = 15137 // FIX(1.847759065)
	fix1961    = 16069 // FIX(1.961570560)
	fix2053    = 16819 // FIX(2.053119869)
	fix2562    = 20995 // FIX(2.562915447)
	fix3072    = 25172 // FIX(3.072711026)
	centerSamp = 128
)

// descale is libjpeg's DESCALE: x / 2ⁿ rounded half up (arithmetic shift).
func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// fdctIslow is jfdctint.c's jpeg_fdct_islow on one level-shifted block
// (in place); outputs are scaled up by 8.
func fdctIslow(d *[64]int32) {
	for r := 0; r < 8; r++ {
		p := d[r*8 : r*8+8]
		tmp0, tmp7 := p[0]+p[7], p[0]-p[7]
		tmp1, tmp6 := p[1]+p[6], p[1]-p[6]
		tmp2, tmp5 := p[2]+p[5], p[2]-p[5]
		tmp3, tmp4 := p[3]+p[4], p[3]-p[4]
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		p[0] = (tmp10 + tmp11) << pass1Bits
		p[4] = (tmp10 - tmp11) << pass1Bits
		z1 := (tmp12 + tmp13) * fix0541
		p[2] = descale(z1+tmp13*fix0765, constBits-pass1Bits)
		p[6] = descale(z1+tmp12*-fix1847, constBits-pass1Bits)
		z1 = tmp4 + tmp7
		z2 := tmp5 + tmp6
		z3 := tmp4 + tmp6
		z4 := tmp5 + tmp7
		z5 := (z3 + z4) * fix1175
		tmp4 *= fix0298
		tmp5 *= fix2053
		tmp6 *= fix3072
		tmp7 *= fix1501
		z1 *= -fix0899
		z2 *= -fix2562
		z3 *= -fix1961
		z4 *= -fix0390
		z3 += z5
		z4 += z5
		p[7] = descale(tmp4+z1+z3, constBits-pass1Bits)
		p[5] = descale(tmp5+z2+z4, constBits-pass1Bits)
		p[3] = descale(tmp6+z2+z3, constBits-pass1Bits)
		p[1] = descale(tmp7+z1+z4, constBits-pass1Bits)
	}
	for c := 0; c < 8; c++ {
		tmp0, tmp7 := d[c]+d[56+c], d[c]-d[56+c]
		tmp1, tmp6 := d[8+c]+d[48+c], d[8+c]-d[48+c]
		tmp2, tmp5 := d[16+c]+d[40+c], d[16+c]-d[40+c]
		tmp3, tmp4 := d[24+c]+d[32+c], d[24+c]-d[32+c]
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		d[c] = descale(tmp10+tmp11, pass1Bits)
		d[32+c] = descale(tmp10-tmp11, pass1Bits)
		z1 := (tmp12 + tmp13) * fix0541
		d[16+c] = descale(z1+tmp13*fix0765, constBits+pass1Bits)
		d[48+c] = descale(z1+tmp12*-fix1847, constBits+pass1Bits)
		z1 = tmp4 + tmp7
		z2 := tmp5 + tmp6
		z3 := tmp4 + tmp6
		z4 := tmp5 + tmp7
		z5 := (z3 + z4) * fix1175
		tmp4 *= fix0298
		tmp5 *= fix2053
		tmp6 *= fix3072
		tmp7 *= fix1501
		z1 *= -fix0899
		z2 *= -fix2562
		z3 *= -fix1961
		z4 *= -fix0390
		z3 += z5
		z4 += z5
		d[56+c] = descale(tmp4+z1+z3, constBits+pass1Bits)
		d[40+c] = descale(tmp5+z2+z4, constBits+pass1Bits)
		d[24+c] = descale(tmp6+z2+z3, constBits+pass1Bits)
		d[8+c] = descale(tmp7+z1+z4, constBits+pass1Bits)
	}
}

// quantize divides the DCT outputs (scaled by 8) by 8·q, rounding half
// away from zero, and multiplies back (dequantisation), in place.
func quantize(d *[64]int32, q *[64]int32) {
	for i, v := range d {
		qv := q[i] << 3
		if v < 0 {
			v = -((-v + qv>>1) / qv)
		} else {
			v = (v + qv>>1) / qv
		}
		d[i] = v * q[i]
	}
}

// idctIslow is jidctint.c's jpeg_idct_islow on one dequantised block,
// writing level-unshifted, clamped samples to out (stride ostride).
func idctIslow(d *[64]int32, out []uint8, ostride int) {
	var ws [64]int32
	for c := 0; c < 8; c++ {
		if d[8+c] == 0 && d[16+c] == 0 && d[24+c] == 0 && d[32+c] == 0 &&
			d[40+c] == 0 && d[48+c] == 0 && d[56+c] == 0 {
			dc := d[c] << pass1Bits
			for r := 0; r < 8; r++ {
				ws[r*8+c] = dc
			}
			continue
		}
		z2, z3 := d[16+c], d[48+c]
		z1 := (z2 + z3) * fix0541
		tmp2 := z1 + z3*-fix1847
		tmp3 := z1 + z2*fix0765
		z2, z3 = d[c], d[32+c]
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		tmp0, tmp1, tmp2, tmp3 = d[56+c], d[40+c], d[24+c], d[8+c]
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175
		tmp0 *= fix0298
		tmp1 *= fix2053
		tmp2 *= fix3072
		tmp3 *= fix1501
		z1 *= -fix0899
		z2 *= -fix2562
		z3 *= -fix1961
		z4 *= -fix0390
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4
		ws[c] = descale(tmp10+tmp3, constBits-pass1Bits)
		ws[56+c] = descale(tmp10-tmp3, constBits-pass1Bits)
		ws[8+c] = descale(tmp11+tmp2, constBits-pass1Bits)
		ws[48+c] = descale(tmp11-tmp2, constBits-pass1Bits)
		ws[16+c] = descale(tmp12+tmp1, constBits-pass1Bits)
		ws[40+c] = descale(tmp12-tmp1, constBits-pass1Bits)
		ws[24+c] = descale(tmp13+tmp0, constBits-pass1Bits)
		ws[32+c] = descale(tmp13-tmp0, constBits-pass1Bits)
	}
	const shift = constBits + pass1Bits + 3
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8]
		o := out[r*ostride : r*ostride+8]
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * fix0541
		tmp2 := z1 + z3*-fix1847
		tmp3 := z1 + z2*fix0765
		tmp0 := (w[0] + w[4]) << constBits
		tmp1 := (w[0] - w[4]) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		tmp0, tmp1, tmp2, tmp3 = w[7], w[5], w[3], w[1]
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175
		tmp0 *= fix0298
		tmp1 *= fix2053
		tmp2 *= fix3072
		tmp3 *= fix1501
		z1 *= -fix0899
		z2 *= -fix2562
		z3 *= -fix1961
		z4 *= -fix0390
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4
		o[0] = idctClamp(descale(tmp10+tmp3, shift))
		o[7] = idctClamp(descale(tmp10-tmp3, shift))
		o[1] = idctClamp(descale(tmp11+tmp2, shift))
		o[6] = idctClamp(descale(tmp11-tmp2, shift))
		o[2] = idctClamp(descale(tmp12+tmp1, shift))
		o[5] = idctClamp(descale(tmp12-tmp1, shift))
		o[3] = idctClamp(descale(tmp13+tmp0, shift))
		o[4] = idctClamp(descale(tmp13-tmp0, shift))
	}
}

// idctClamp is libjpeg's IDCT range limit: level shift by 128 and clamp,
// with its wrap-around for out-of-range garbage (x & 1023 indexing).
func idctClamp(x int32) uint8 {
	x &= 1023
	switch {
	case x < 128:
		return uint8(x + 128)
	case x < 512:
		return 255
	case x < 896:
		return 0
	default:
		return uint8(x - 896)
	}
}

// plane is one padded 8-bit image component.
type plane struct {
	w, h int // padded size, multiples of 8
	pix  []uint8
}

// codePlane runs forward DCT, quantisation and inverse DCT over every 8×8
// block of p in place.
func codePlane(p plane, q *[64]int32) {
	var blk [64]int32
	for by := 0; by < p.h; by += 8 {
		for bx := 0; bx < p.w; bx += 8 {
			for r := 0; r < 8; r++ {
				row := p.pix[(by+r)*p.w+bx:]
				for c := 0; c < 8; c++ {
					blk[r*8+c] = int32(row[c]) - centerSamp
				}
			}
			fdctIslow(&blk)
			quantize(&blk, q)
			idctIslow(&blk, p.pix[by*p.w+bx:], p.w)
		}
	}
}

// jpegScratch holds reusable planes for the JPEG pipeline.
type jpegScratch struct {
	y, cb, cr []uint8
	fullCb    []int32
	fullCr    []int32
	rowCb     []uint8
	rowCr     []uint8
	sums      []int32
}

// libjpegRoundTrip replaces img (RGB or gray) by its JPEG-compressed
// version at the given quality, computed as libjpeg-turbo with Pillow's
// default settings would (see the file comment). Gray images are coded as
// a single luma component, which equals Pillow's route for mode "L" in
// imagecorruptions (convert to RGB, save, convert back to "L").
func libjpegRoundTrip(quality int, img Image, dst []uint8, s *jpegScratch) {
	W, H := img.W, img.H
	lq := scaledQuant(&stdLumaQuant, quality)
	if img.C == 1 {
		pw, ph := (W+7)/8*8, (H+7)/8*8
		s.y = growU8(s.y, pw*ph)
		for y := 0; y < ph; y++ {
			sy := min(y, H-1)
			for x := 0; x < pw; x++ {
				s.y[y*pw+x] = img.Pix[sy*W+min(x, W-1)]
			}
		}
		codePlane(plane{pw, ph, s.y}, &lq)
		for y := 0; y < H; y++ {
			copy(dst[y*W:(y+1)*W], s.y[y*pw:y*pw+W])
		}
		return
	}
	cq := scaledQuant(&stdChromaQuant, quality)
	// Colour conversion (jccolor.c) at full resolution; rows are padded to
	// an even count and columns to twice the padded chroma width by
	// repeating the last row and column (jcprepct.c, jcsample.c).
	fix := func(x float64) int32 { return int32(x*65536 + 0.5) }
	cw := (W + 1) / 2
	ch := (H + 1) / 2
	cpw, cph := (cw+7)/8*8, (ch+7)/8*8
	ypw, yph := (W+7)/8*8, (H+7)/8*8
	fw, fh := 2*cpw, 2*ch
	s.y = growU8(s.y, ypw*yph)
	s.fullCb = growInt32(s.fullCb, fw*fh)
	s.fullCr = growInt32(s.fullCr, fw*fh)
	ry, gy, by := fix(0.29900), fix(0.58700), fix(0.11400)
	rcb, gcb, half := fix(0.16874), fix(0.33126), fix(0.5)
	gcr, bcr := fix(0.41869), fix(0.08131)
	const off = centerSamp<<16 + 1<<15 - 1
	for y := 0; y < fh; y++ {
		sy := min(y, H-1)
		for x := 0; x < fw; x++ {
			sx := min(x, W-1)
			p := img.Pix[(sy*W+sx)*3:]
			r, g, b := int32(p[0]), int32(p[1]), int32(p[2])
			if y < yph && x < ypw {
				s.y[y*ypw+x] = uint8((ry*r + gy*g + by*b + 1<<15) >> 16)
			}
			s.fullCb[y*fw+x] = (-rcb*r - gcb*g + half*b + off) >> 16
			s.fullCr[y*fw+x] = (half*r - gcr*g - bcr*b + off) >> 16
		}
	}
	for y := fh; y < yph; y++ { // luma rows beyond the chroma-padded height
		copy(s.y[y*ypw:(y+1)*ypw], s.y[(fh-1)*ypw:fh*ypw])
	}
	// h2v2 downsampling with bias 1, 2, 1, 2, … along each row, then
	// bottom padding of the chroma planes by repeating the last row.
	s.cb = growU8(s.cb, cpw*cph)
	s.cr = growU8(s.cr, cpw*cph)
	for cy := 0; cy < cph; cy++ {
		sy := min(cy, ch-1)
		bias := int32(1)
		for cx := 0; cx < cpw; cx++ {
			i0 := (2*sy)*fw + 2*cx
			i1 := i0 + fw
			s.cb[cy*cpw+cx] = uint8((s.fullCb[i0] + s.fullCb[i0+1] + s.fullCb[i1] + s.fullCb[i1+1] + bias) >> 2)
			s.cr[cy*cpw+cx] = uint8((s.fullCr[i0] + s.fullCr[i0+1] + s.fullCr[i1] + s.fullCr[i1+1] + bias) >> 2)
			bias ^= 3
		}
	}
	codePlane(plane{ypw, yph, s.y}, &lq)
	codePlane(plane{cpw, cph, s.cb}, &cq)
	codePlane(plane{cpw, cph, s.cr}, &cq)
	// Fancy upsampling (jdsample.c h2v2_fancy_upsample) and colour
	// conversion (jdcolor.c).
	s.rowCb = growU8(s.rowCb, 2*cw)
	s.rowCr = growU8(s.rowCr, 2*cw)
	s.sums = growInt32(s.sums, cw)
	for y := 0; y < H; y++ {
		r := y / 2
		o := r - 1
		if y%2 == 1 {
			o = r + 1
		}
		o = clampIndex(o, ch)
		for k, pl := range [2][]uint8{s.cb, s.cr} {
			near := pl[r*cpw : r*cpw+cw]
			far := pl[o*cpw : o*cpw+cw]
			for c := range s.sums {
				s.sums[c] = int32(near[c])*3 + int32(far[c])
			}
			if k == 0 {
				upsampleRowH2(s.sums, s.rowCb)
			} else {
				upsampleRowH2(s.sums, s.rowCr)
			}
		}
		yrow := s.y[y*ypw : y*ypw+W]
		out := dst[y*W*3 : (y+1)*W*3]
		for x := 0; x < W; x++ {
			yy := int32(yrow[x])
			cbv, crv := s.rowCb[x], s.rowCr[x]
			out[3*x] = clampU8(yy + ycc.crR[crv])
			out[3*x+1] = clampU8(yy + ((ycc.cbG[cbv] + ycc.crG[crv]) >> 16))
			out[3*x+2] = clampU8(yy + ycc.cbB[cbv])
		}
	}
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
