#include "textflag.h"

// AVX2 transforms of Winograd's F(2×2, 3×3) (winograd.go), eight channels
// per step; n is a positive multiple of 8 and every stride is in floats.

// func winogradInputAVX2(n int, src *float32, pix, row int, dst *float32, ds int)
//
// V[ξ] = (Bᵀ d B)[ξ] for one tile: pixel (r, c) of the 4×4 block at
// src + r·row + c·pix, position ξ = 4i + j written to dst + ξ·ds. The first
// pass leaves t = Bᵀ d in Y0-Y15 (register 4r + c).
TEXT ·winogradInputAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	SHRQ $3, CX
	MOVQ src+8(FP), SI
	MOVQ pix+16(FP), R8
	SHLQ $2, R8
	MOVQ row+24(FP), R9
	SHLQ $2, R9
	MOVQ dst+32(FP), DI
	MOVQ ds+40(FP), R10
	SHLQ $2, R10
	LEAQ (SI)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R8)(R8*1), R14
	LEAQ (R14)(R8*1), R15
	LEAQ (DI)(R10*1), AX
	LEAQ (AX)(R10*1), BX
	LEAQ (BX)(R10*1), DX
	SHLQ $2, R10                 // 4·ds: from row i to row i+1 of V
	LEAQ (R10)(R10*2), R9        // 12·ds
winoInLoop:
	// t[0][c] = d0 − d2, t[1][c] = d1 + d2, t[2][c] = d2 − d1, t[3][c] = d1 − d3
	VMOVUPS (SI), Y0
	VSUBPS (R12), Y0, Y0
	VMOVUPS (R11), Y4
	VADDPS (R12), Y4, Y4
	VMOVUPS (R12), Y8
	VSUBPS (R11), Y8, Y8
	VMOVUPS (R11), Y12
	VSUBPS (R13), Y12, Y12
	VMOVUPS (SI)(R8*1), Y1
	VSUBPS (R12)(R8*1), Y1, Y1
	VMOVUPS (R11)(R8*1), Y5
	VADDPS (R12)(R8*1), Y5, Y5
	VMOVUPS (R12)(R8*1), Y9
	VSUBPS (R11)(R8*1), Y9, Y9
	VMOVUPS (R11)(R8*1), Y13
	VSUBPS (R13)(R8*1), Y13, Y13
	VMOVUPS (SI)(R14*1), Y2
	VSUBPS (R12)(R14*1), Y2, Y2
	VMOVUPS (R11)(R14*1), Y6
	VADDPS (R12)(R14*1), Y6, Y6
	VMOVUPS (R12)(R14*1), Y10
	VSUBPS (R11)(R14*1), Y10, Y10
	VMOVUPS (R11)(R14*1), Y14
	VSUBPS (R13)(R14*1), Y14, Y14
	VMOVUPS (SI)(R15*1), Y3
	VSUBPS (R12)(R15*1), Y3, Y3
	VMOVUPS (R11)(R15*1), Y7
	VADDPS (R12)(R15*1), Y7, Y7
	VMOVUPS (R12)(R15*1), Y11
	VSUBPS (R11)(R15*1), Y11, Y11
	VMOVUPS (R11)(R15*1), Y15
	VSUBPS (R13)(R15*1), Y15, Y15
	// Row i of V from t[i][0..3] = (a, b, c, d): a − c, b + c, c − b, b − d.
	VSUBPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	VSUBPS Y3, Y1, Y3
	VMOVUPS Y3, (DX)
	VADDPS Y2, Y1, Y0
	VMOVUPS Y0, (AX)
	VSUBPS Y1, Y2, Y2
	VMOVUPS Y2, (BX)
	VSUBPS Y6, Y4, Y4
	VMOVUPS Y4, (DI)(R10*1)
	VSUBPS Y7, Y5, Y7
	VMOVUPS Y7, (DX)(R10*1)
	VADDPS Y6, Y5, Y4
	VMOVUPS Y4, (AX)(R10*1)
	VSUBPS Y5, Y6, Y6
	VMOVUPS Y6, (BX)(R10*1)
	VSUBPS Y10, Y8, Y8
	VMOVUPS Y8, (DI)(R10*2)
	VSUBPS Y11, Y9, Y11
	VMOVUPS Y11, (DX)(R10*2)
	VADDPS Y10, Y9, Y8
	VMOVUPS Y8, (AX)(R10*2)
	VSUBPS Y9, Y10, Y10
	VMOVUPS Y10, (BX)(R10*2)
	VSUBPS Y14, Y12, Y12
	VMOVUPS Y12, (DI)(R9*1)
	VSUBPS Y15, Y13, Y15
	VMOVUPS Y15, (DX)(R9*1)
	VADDPS Y14, Y13, Y12
	VMOVUPS Y12, (AX)(R9*1)
	VSUBPS Y13, Y14, Y14
	VMOVUPS Y14, (BX)(R9*1)
	ADDQ $32, SI
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	ADDQ $32, DI
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	DECQ CX
	JNZ winoInLoop
	VZEROUPPER
	RET

// func winogradOutputAVX2(n int, src *float32, ds int, dst *float32, pix, row int)
//
// The 2×2 output pixels Aᵀ M A of one whole tile: position ξ = 4r + c of M
// at src + ξ·ds, output pixel (i, j) written to dst + i·row + j·pix.
TEXT ·winogradOutputAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	SHRQ $3, CX
	MOVQ src+8(FP), SI
	MOVQ ds+16(FP), R10
	SHLQ $2, R10
	MOVQ dst+24(FP), DI
	MOVQ pix+32(FP), R8
	SHLQ $2, R8
	MOVQ row+40(FP), R11
	SHLQ $2, R11
	LEAQ (SI)(R10*1), AX
	LEAQ (AX)(R10*1), BX
	LEAQ (BX)(R10*1), DX
	SHLQ $2, R10                 // 4·ds: from row r to row r+1 of M
	LEAQ (R10)(R10*2), R9        // 12·ds
	ADDQ DI, R8                  // pixel (0, 1)
	ADDQ DI, R11                 // pixel (1, 0)
	LEAQ (R11)(R8*1), R12
	SUBQ DI, R12                 // pixel (1, 1)
winoOutLoop:
	// Column c: s0 = m0 + m1 + m2 (Y8+c), s1 = m1 − m2 − m3 (Y12+c).
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R10*1), Y1
	VMOVUPS (SI)(R10*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VADDPS Y1, Y0, Y8
	VADDPS Y2, Y8, Y8
	VSUBPS Y2, Y1, Y12
	VSUBPS Y3, Y12, Y12
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R10*1), Y1
	VMOVUPS (AX)(R10*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	VADDPS Y1, Y0, Y9
	VADDPS Y2, Y9, Y9
	VSUBPS Y2, Y1, Y13
	VSUBPS Y3, Y13, Y13
	VMOVUPS (BX), Y0
	VMOVUPS (BX)(R10*1), Y1
	VMOVUPS (BX)(R10*2), Y2
	VMOVUPS (BX)(R9*1), Y3
	VADDPS Y1, Y0, Y10
	VADDPS Y2, Y10, Y10
	VSUBPS Y2, Y1, Y14
	VSUBPS Y3, Y14, Y14
	VMOVUPS (DX), Y0
	VMOVUPS (DX)(R10*1), Y1
	VMOVUPS (DX)(R10*2), Y2
	VMOVUPS (DX)(R9*1), Y3
	VADDPS Y1, Y0, Y11
	VADDPS Y2, Y11, Y11
	VSUBPS Y2, Y1, Y15
	VSUBPS Y3, Y15, Y15
	// Output row i from s[i][0..3] = (a, b, c, d): a + b + c, b − c − d.
	VADDPS Y9, Y8, Y0
	VADDPS Y10, Y0, Y0
	VMOVUPS Y0, (DI)
	VSUBPS Y10, Y9, Y1
	VSUBPS Y11, Y1, Y1
	VMOVUPS Y1, (R8)
	VADDPS Y13, Y12, Y2
	VADDPS Y14, Y2, Y2
	VMOVUPS Y2, (R11)
	VSUBPS Y14, Y13, Y3
	VSUBPS Y15, Y3, Y3
	VMOVUPS Y3, (R12)
	ADDQ $32, SI
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R11
	ADDQ $32, R12
	DECQ CX
	JNZ winoOutLoop
	VZEROUPPER
	RET

// func winogradKernelAVX2(n int, src *float32, sy, sx int, dst *float32, ds int)
//
// U[ξ] = (G g Gᵀ)[ξ] for eight output channels per step: g[ky][kx] at
// src + ky·sy + kx·sx (contiguous over the channels), ξ = 4i + j written
// to dst + ξ·ds.
TEXT ·winogradKernelAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	SHRQ $3, CX
	MOVQ src+8(FP), SI
	MOVQ sy+16(FP), R11
	SHLQ $2, R11
	MOVQ sx+24(FP), R8
	SHLQ $2, R8
	MOVQ dst+32(FP), DI
	MOVQ ds+40(FP), R10
	SHLQ $2, R10
	LEAQ (SI)(R11*2), R12        // row ky = 2
	ADDQ SI, R11                 // row ky = 1
	LEAQ (R8)(R8*1), R14         // kx = 2
	LEAQ (DI)(R10*1), AX
	LEAQ (AX)(R10*1), BX
	LEAQ (BX)(R10*1), DX
	SHLQ $2, R10                 // 4·ds
	LEAQ (R10)(R10*2), R9        // 12·ds
	MOVL $0x3f000000, R13        // 0.5
	VMOVD R13, X15
	VBROADCASTSS X15, Y15
winoKerLoop:
	// Rows 1 and 2 of t = G g: ½(g0 + g1 + g2) in Y3-Y5, ½(g0 − g1 + g2) in Y6-Y8.
	VMOVUPS (SI), Y0
	VADDPS (R12), Y0, Y0
	VMOVUPS (R11), Y1
	VADDPS Y1, Y0, Y3
	VSUBPS Y1, Y0, Y6
	VMULPS Y15, Y3, Y3
	VMULPS Y15, Y6, Y6
	VMOVUPS (SI)(R8*1), Y0
	VADDPS (R12)(R8*1), Y0, Y0
	VMOVUPS (R11)(R8*1), Y1
	VADDPS Y1, Y0, Y4
	VSUBPS Y1, Y0, Y7
	VMULPS Y15, Y4, Y4
	VMULPS Y15, Y7, Y7
	VMOVUPS (SI)(R14*1), Y0
	VADDPS (R12)(R14*1), Y0, Y0
	VMOVUPS (R11)(R14*1), Y1
	VADDPS Y1, Y0, Y5
	VSUBPS Y1, Y0, Y8
	VMULPS Y15, Y5, Y5
	VMULPS Y15, Y8, Y8
	// Row i of U from t[i][0..2] = (a, b, e): a, ½(a + b + e), ½(a − b + e), e.
	// i = 0: t[0] = g[0].
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R14*1), Y2
	VMOVUPS Y0, (DI)
	VMOVUPS Y2, (DX)
	VADDPS Y2, Y0, Y12
	VADDPS Y1, Y12, Y13
	VSUBPS Y1, Y12, Y14
	VMULPS Y15, Y13, Y13
	VMULPS Y15, Y14, Y14
	VMOVUPS Y13, (AX)
	VMOVUPS Y14, (BX)
	// i = 1
	VMOVUPS Y3, (DI)(R10*1)
	VMOVUPS Y5, (DX)(R10*1)
	VADDPS Y5, Y3, Y12
	VADDPS Y4, Y12, Y13
	VSUBPS Y4, Y12, Y14
	VMULPS Y15, Y13, Y13
	VMULPS Y15, Y14, Y14
	VMOVUPS Y13, (AX)(R10*1)
	VMOVUPS Y14, (BX)(R10*1)
	// i = 2
	VMOVUPS Y6, (DI)(R10*2)
	VMOVUPS Y8, (DX)(R10*2)
	VADDPS Y8, Y6, Y12
	VADDPS Y7, Y12, Y13
	VSUBPS Y7, Y12, Y14
	VMULPS Y15, Y13, Y13
	VMULPS Y15, Y14, Y14
	VMOVUPS Y13, (AX)(R10*2)
	VMOVUPS Y14, (BX)(R10*2)
	// i = 3: t[3] = g[2].
	VMOVUPS (R12), Y0
	VMOVUPS (R12)(R8*1), Y1
	VMOVUPS (R12)(R14*1), Y2
	VMOVUPS Y0, (DI)(R9*1)
	VMOVUPS Y2, (DX)(R9*1)
	VADDPS Y2, Y0, Y12
	VADDPS Y1, Y12, Y13
	VSUBPS Y1, Y12, Y14
	VMULPS Y15, Y13, Y13
	VMULPS Y15, Y14, Y14
	VMOVUPS Y13, (AX)(R9*1)
	VMOVUPS Y14, (BX)(R9*1)
	ADDQ $32, SI
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, DI
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	DECQ CX
	JNZ winoKerLoop
	VZEROUPPER
	RET
