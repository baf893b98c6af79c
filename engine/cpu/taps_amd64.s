#include "textflag.h"

// Direct convolution loops for layers with few input channels (taps.go).
// A pixel's taps are its window's input values, at element offsets offs[t]
// from the pixel's window origin; origins are inStep elements apart. All
// strides are in float32 elements.

// func tapsRow16AVX512(out, in *float32, offs *int, w *float32, taps, pixels, inStep, wStride, outStride int)
// out[p·outStride + c] = Σ_t in[p·inStep + offs[t]]·w[t·wStride + c] for
// c < 16: eight pixels at a time in eight zmm accumulators, then one at a
// time.
TEXT ·tapsRow16AVX512(SB), NOSPLIT, $0-72
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ w+24(FP), DX
	MOVQ taps+32(FP), CX
	MOVQ pixels+40(FP), BX
	MOVQ inStep+48(FP), R9
	MOVQ wStride+56(FP), R10
	MOVQ outStride+64(FP), R11
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (R9)(R9*2), R12 // 3·inStep
fw8:
	CMPQ BX, $8
	JLT fw1
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ R14, R14
	MOVQ DX, R15
fw8tap:
	MOVQ (R8)(R14*8), AX
	LEAQ (SI)(AX*4), AX
	LEAQ (AX)(R9*4), R13
	VMOVUPS (R15), Z8
	VBROADCASTSS (AX), Z9
	VFMADD231PS Z9, Z8, Z0
	VBROADCASTSS (AX)(R9*1), Z10
	VFMADD231PS Z10, Z8, Z1
	VBROADCASTSS (AX)(R9*2), Z11
	VFMADD231PS Z11, Z8, Z2
	VBROADCASTSS (AX)(R12*1), Z12
	VFMADD231PS Z12, Z8, Z3
	VBROADCASTSS (R13), Z13
	VFMADD231PS Z13, Z8, Z4
	VBROADCASTSS (R13)(R9*1), Z14
	VFMADD231PS Z14, Z8, Z5
	VBROADCASTSS (R13)(R9*2), Z15
	VFMADD231PS Z15, Z8, Z6
	VBROADCASTSS (R13)(R12*1), Z16
	VFMADD231PS Z16, Z8, Z7
	ADDQ R10, R15
	INCQ R14
	CMPQ R14, CX
	JLT fw8tap
	MOVQ DI, AX
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, (AX)(R11*1)
	VMOVUPS Z2, (AX)(R11*2)
	LEAQ (AX)(R11*2), AX
	VMOVUPS Z3, (AX)(R11*1)
	VMOVUPS Z4, (AX)(R11*2)
	LEAQ (AX)(R11*2), AX
	VMOVUPS Z5, (AX)(R11*1)
	VMOVUPS Z6, (AX)(R11*2)
	LEAQ (AX)(R11*2), AX
	VMOVUPS Z7, (AX)(R11*1)
	LEAQ (SI)(R9*8), SI
	LEAQ (DI)(R11*8), DI
	SUBQ $8, BX
	JMP fw8
fw1:
	TESTQ BX, BX
	JLE fwdone
	VPXORD Z0, Z0, Z0
	XORQ R14, R14
	MOVQ DX, R15
fw1tap:
	MOVQ (R8)(R14*8), AX
	VBROADCASTSS (SI)(AX*4), Z9
	VFMADD231PS (R15), Z9, Z0
	ADDQ R10, R15
	INCQ R14
	CMPQ R14, CX
	JLT fw1tap
	VMOVUPS Z0, (DI)
	ADDQ R9, SI
	ADDQ R11, DI
	DECQ BX
	JMP fw1
fwdone:
	VZEROUPPER
	RET

// func tapsRow8AVX2(out, in *float32, offs *int, w *float32, taps, pixels, inStep, wStride, outStride int)
// tapsRow16AVX512 for c < 8 in ymm registers.
TEXT ·tapsRow8AVX2(SB), NOSPLIT, $0-72
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ w+24(FP), DX
	MOVQ taps+32(FP), CX
	MOVQ pixels+40(FP), BX
	MOVQ inStep+48(FP), R9
	MOVQ wStride+56(FP), R10
	MOVQ outStride+64(FP), R11
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (R9)(R9*2), R12 // 3·inStep
aw8:
	CMPQ BX, $8
	JLT aw1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ R14, R14
	MOVQ DX, R15
aw8tap:
	MOVQ (R8)(R14*8), AX
	LEAQ (SI)(AX*4), AX
	LEAQ (AX)(R9*4), R13
	VMOVUPS (R15), Y8
	VBROADCASTSS (AX), Y9
	VFMADD231PS Y9, Y8, Y0
	VBROADCASTSS (AX)(R9*1), Y10
	VFMADD231PS Y10, Y8, Y1
	VBROADCASTSS (AX)(R9*2), Y11
	VFMADD231PS Y11, Y8, Y2
	VBROADCASTSS (AX)(R12*1), Y12
	VFMADD231PS Y12, Y8, Y3
	VBROADCASTSS (R13), Y13
	VFMADD231PS Y13, Y8, Y4
	VBROADCASTSS (R13)(R9*1), Y14
	VFMADD231PS Y14, Y8, Y5
	VBROADCASTSS (R13)(R9*2), Y15
	VFMADD231PS Y15, Y8, Y6
	VBROADCASTSS (R13)(R12*1), Y9
	VFMADD231PS Y9, Y8, Y7
	ADDQ R10, R15
	INCQ R14
	CMPQ R14, CX
	JLT aw8tap
	MOVQ DI, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, (AX)(R11*1)
	VMOVUPS Y2, (AX)(R11*2)
	LEAQ (AX)(R11*2), AX
	VMOVUPS Y3, (AX)(R11*1)
	VMOVUPS Y4, (AX)(R11*2)
	LEAQ (AX)(R11*2), AX
	VMOVUPS Y5, (AX)(R11*1)
	VMOVUPS Y6, (AX)(R11*2)
	LEAQ (AX)(R11*2), AX
	VMOVUPS Y7, (AX)(R11*1)
	LEAQ (SI)(R9*8), SI
	LEAQ (DI)(R11*8), DI
	SUBQ $8, BX
	JMP aw8
aw1:
	TESTQ BX, BX
	JLE awdone
	VXORPS Y0, Y0, Y0
	XORQ R14, R14
	MOVQ DX, R15
aw1tap:
	MOVQ (R8)(R14*8), AX
	VBROADCASTSS (SI)(AX*4), Y9
	VFMADD231PS (R15), Y9, Y0
	ADDQ R10, R15
	INCQ R14
	CMPQ R14, CX
	JLT aw1tap
	VMOVUPS Y0, (DI)
	ADDQ R9, SI
	ADDQ R11, DI
	DECQ BX
	JMP aw1
awdone:
	VZEROUPPER
	RET

// func tapsGradRow16AVX512(dw, in *float32, offs *int, dy *float32, taps, pixels, inStep, dyStride, wStride int)
// dw[t·wStride + c] += Σ_p in[p·inStep + offs[t]]·dy[p·dyStride + c] for
// c < 16: tap by tap, the pixels four at a time in four zmm accumulators.
TEXT ·tapsGradRow16AVX512(SB), NOSPLIT, $0-72
	MOVQ dw+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ dy+24(FP), DX
	MOVQ taps+32(FP), CX
	MOVQ inStep+48(FP), R9
	MOVQ dyStride+56(FP), R10
	MOVQ wStride+64(FP), R11
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (R9)(R9*2), R12  // 3·inStep
	LEAQ (R10)(R10*2), R14 // 3·dyStride
gwtap:
	TESTQ CX, CX
	JLE gwdone
	MOVQ (R8), AX
	LEAQ (SI)(AX*4), AX
	MOVQ DX, R13
	MOVQ pixels+40(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
gw4:
	CMPQ BX, $4
	JLT gw1
	VBROADCASTSS (AX), Z4
	VFMADD231PS (R13), Z4, Z0
	VBROADCASTSS (AX)(R9*1), Z5
	VFMADD231PS (R13)(R10*1), Z5, Z1
	VBROADCASTSS (AX)(R9*2), Z6
	VFMADD231PS (R13)(R10*2), Z6, Z2
	VBROADCASTSS (AX)(R12*1), Z7
	VFMADD231PS (R13)(R14*1), Z7, Z3
	LEAQ (AX)(R9*4), AX
	LEAQ (R13)(R10*4), R13
	SUBQ $4, BX
	JMP gw4
gw1:
	TESTQ BX, BX
	JLE gwsum
	VBROADCASTSS (AX), Z4
	VFMADD231PS (R13), Z4, Z0
	ADDQ R9, AX
	ADDQ R10, R13
	DECQ BX
	JMP gw1
gwsum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VADDPS (DI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ R11, DI
	ADDQ $8, R8
	DECQ CX
	JMP gwtap
gwdone:
	VZEROUPPER
	RET

// func tapsGradRow8AVX2(dw, in *float32, offs *int, dy *float32, taps, pixels, inStep, dyStride, wStride int)
// tapsGradRow16AVX512 for c < 8 in ymm registers.
TEXT ·tapsGradRow8AVX2(SB), NOSPLIT, $0-72
	MOVQ dw+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ dy+24(FP), DX
	MOVQ taps+32(FP), CX
	MOVQ inStep+48(FP), R9
	MOVQ dyStride+56(FP), R10
	MOVQ wStride+64(FP), R11
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (R9)(R9*2), R12  // 3·inStep
	LEAQ (R10)(R10*2), R14 // 3·dyStride
agtap:
	TESTQ CX, CX
	JLE agdone
	MOVQ (R8), AX
	LEAQ (SI)(AX*4), AX
	MOVQ DX, R13
	MOVQ pixels+40(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
ag4:
	CMPQ BX, $4
	JLT ag1
	VBROADCASTSS (AX), Y4
	VFMADD231PS (R13), Y4, Y0
	VBROADCASTSS (AX)(R9*1), Y5
	VFMADD231PS (R13)(R10*1), Y5, Y1
	VBROADCASTSS (AX)(R9*2), Y6
	VFMADD231PS (R13)(R10*2), Y6, Y2
	VBROADCASTSS (AX)(R12*1), Y7
	VFMADD231PS (R13)(R14*1), Y7, Y3
	LEAQ (AX)(R9*4), AX
	LEAQ (R13)(R10*4), R13
	SUBQ $4, BX
	JMP ag4
ag1:
	TESTQ BX, BX
	JLE agsum
	VBROADCASTSS (AX), Y4
	VFMADD231PS (R13), Y4, Y0
	ADDQ R9, AX
	ADDQ R10, R13
	DECQ BX
	JMP ag1
agsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VADDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ R11, DI
	ADDQ $8, R8
	DECQ CX
	JMP agtap
agdone:
	VZEROUPPER
	RET
