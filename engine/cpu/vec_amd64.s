#include "textflag.h"

// Float32 vector loops: o[i] = a[i] OP b[i] (VV), a[i] OP s (VS), s OP b[i] (SV),
// 32 elements per iteration with AVX, then 8, then one at a time.

// func addVV32(o, a, b *float32, n int)
TEXT ·addVV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
addvv32:
	CMPQ AX, BX
	JGE addvv8
	VMOVUPS 0(SI)(AX*4), Y0
	VADDPS 0(DX)(AX*4), Y0, Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VADDPS 32(DX)(AX*4), Y1, Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VADDPS 64(DX)(AX*4), Y2, Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VADDPS 96(DX)(AX*4), Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP addvv32
addvv8:
	MOVQ CX, BX
	ANDQ $-8, BX
addvv8loop:
	CMPQ AX, BX
	JGE addvv1
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VADDPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP addvv8loop
addvv1:
	CMPQ AX, CX
	JGE addvvdone
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VADDSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP addvv1
addvvdone:
	VZEROUPPER
	RET

// func addVS32(o, a *float32, s float32, n int)
TEXT ·addVS32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS s+16(FP), Y4
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
addvs8:
	CMPQ AX, BX
	JGE addvs1
	VMOVUPS (SI)(AX*4), Y0
	VADDPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP addvs8
addvs1:
	CMPQ AX, CX
	JGE addvsdone
	VMOVSS (SI)(AX*4), X0
	VADDSS X4, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP addvs1
addvsdone:
	VZEROUPPER
	RET

// func addSV32(o *float32, s float32, b *float32, n int)
TEXT ·addSV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	VBROADCASTSS s+8(FP), Y4
	MOVQ b+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
addsv8:
	CMPQ AX, BX
	JGE addsv1
	VMOVUPS (SI)(AX*4), Y0
	VADDPS Y0, Y4, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ $8, AX
	JMP addsv8
addsv1:
	CMPQ AX, CX
	JGE addsvdone
	VMOVSS (SI)(AX*4), X0
	VMOVAPS X4, X1
	VADDSS X0, X1, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ AX
	JMP addsv1
addsvdone:
	VZEROUPPER
	RET

// func subVV32(o, a, b *float32, n int)
TEXT ·subVV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
subvv32:
	CMPQ AX, BX
	JGE subvv8
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 0(DX)(AX*4), Y4
	VSUBPS Y4, Y0, Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y5
	VSUBPS Y5, Y1, Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 64(DX)(AX*4), Y6
	VSUBPS Y6, Y2, Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VMOVUPS 96(DX)(AX*4), Y7
	VSUBPS Y7, Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP subvv32
subvv8:
	MOVQ CX, BX
	ANDQ $-8, BX
subvv8loop:
	CMPQ AX, BX
	JGE subvv1
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VSUBPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP subvv8loop
subvv1:
	CMPQ AX, CX
	JGE subvvdone
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VSUBSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP subvv1
subvvdone:
	VZEROUPPER
	RET

// func subVS32(o, a *float32, s float32, n int)
TEXT ·subVS32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS s+16(FP), Y4
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
subvs8:
	CMPQ AX, BX
	JGE subvs1
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP subvs8
subvs1:
	CMPQ AX, CX
	JGE subvsdone
	VMOVSS (SI)(AX*4), X0
	VSUBSS X4, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP subvs1
subvsdone:
	VZEROUPPER
	RET

// func subSV32(o *float32, s float32, b *float32, n int)
TEXT ·subSV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	VBROADCASTSS s+8(FP), Y4
	MOVQ b+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
subsv8:
	CMPQ AX, BX
	JGE subsv1
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y0, Y4, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ $8, AX
	JMP subsv8
subsv1:
	CMPQ AX, CX
	JGE subsvdone
	VMOVSS (SI)(AX*4), X0
	VMOVAPS X4, X1
	VSUBSS X0, X1, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ AX
	JMP subsv1
subsvdone:
	VZEROUPPER
	RET

// func mulVV32(o, a, b *float32, n int)
TEXT ·mulVV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
mulvv32:
	CMPQ AX, BX
	JGE mulvv8
	VMOVUPS 0(SI)(AX*4), Y0
	VMULPS 0(DX)(AX*4), Y0, Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMULPS 32(DX)(AX*4), Y1, Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMULPS 64(DX)(AX*4), Y2, Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VMULPS 96(DX)(AX*4), Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP mulvv32
mulvv8:
	MOVQ CX, BX
	ANDQ $-8, BX
mulvv8loop:
	CMPQ AX, BX
	JGE mulvv1
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP mulvv8loop
mulvv1:
	CMPQ AX, CX
	JGE mulvvdone
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VMULSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP mulvv1
mulvvdone:
	VZEROUPPER
	RET

// func mulVS32(o, a *float32, s float32, n int)
TEXT ·mulVS32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS s+16(FP), Y4
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
mulvs8:
	CMPQ AX, BX
	JGE mulvs1
	VMOVUPS (SI)(AX*4), Y0
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP mulvs8
mulvs1:
	CMPQ AX, CX
	JGE mulvsdone
	VMOVSS (SI)(AX*4), X0
	VMULSS X4, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP mulvs1
mulvsdone:
	VZEROUPPER
	RET

// func mulSV32(o *float32, s float32, b *float32, n int)
TEXT ·mulSV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	VBROADCASTSS s+8(FP), Y4
	MOVQ b+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
mulsv8:
	CMPQ AX, BX
	JGE mulsv1
	VMOVUPS (SI)(AX*4), Y0
	VMULPS Y0, Y4, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ $8, AX
	JMP mulsv8
mulsv1:
	CMPQ AX, CX
	JGE mulsvdone
	VMOVSS (SI)(AX*4), X0
	VMOVAPS X4, X1
	VMULSS X0, X1, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ AX
	JMP mulsv1
mulsvdone:
	VZEROUPPER
	RET

// func divVV32(o, a, b *float32, n int)
TEXT ·divVV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
divvv32:
	CMPQ AX, BX
	JGE divvv8
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 0(DX)(AX*4), Y4
	VDIVPS Y4, Y0, Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y5
	VDIVPS Y5, Y1, Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 64(DX)(AX*4), Y6
	VDIVPS Y6, Y2, Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VMOVUPS 96(DX)(AX*4), Y7
	VDIVPS Y7, Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP divvv32
divvv8:
	MOVQ CX, BX
	ANDQ $-8, BX
divvv8loop:
	CMPQ AX, BX
	JGE divvv1
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VDIVPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP divvv8loop
divvv1:
	CMPQ AX, CX
	JGE divvvdone
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VDIVSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP divvv1
divvvdone:
	VZEROUPPER
	RET

// func divVS32(o, a *float32, s float32, n int)
TEXT ·divVS32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS s+16(FP), Y4
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
divvs8:
	CMPQ AX, BX
	JGE divvs1
	VMOVUPS (SI)(AX*4), Y0
	VDIVPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP divvs8
divvs1:
	CMPQ AX, CX
	JGE divvsdone
	VMOVSS (SI)(AX*4), X0
	VDIVSS X4, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP divvs1
divvsdone:
	VZEROUPPER
	RET

// func divSV32(o *float32, s float32, b *float32, n int)
TEXT ·divSV32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	VBROADCASTSS s+8(FP), Y4
	MOVQ b+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
divsv8:
	CMPQ AX, BX
	JGE divsv1
	VMOVUPS (SI)(AX*4), Y0
	VDIVPS Y0, Y4, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ $8, AX
	JMP divsv8
divsv1:
	CMPQ AX, CX
	JGE divsvdone
	VMOVSS (SI)(AX*4), X0
	VMOVAPS X4, X1
	VDIVSS X0, X1, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ AX
	JMP divsv1
divsvdone:
	VZEROUPPER
	RET

// func axpy32(y *float32, a float32, x *float32, n int)
// y[i] += a·x[i].
TEXT ·axpy32(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	VBROADCASTSS a+8(FP), Y4
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
axpy8:
	CMPQ AX, BX
	JGE axpy1
	VMOVUPS (SI)(AX*4), Y0
	VFMADD213PS (DI)(AX*4), Y4, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP axpy8
axpy1:
	CMPQ AX, CX
	JGE axpydone
	VMOVSS (SI)(AX*4), X0
	VFMADD213SS (DI)(AX*4), X4, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP axpy1
axpydone:
	VZEROUPPER
	RET

// func fill32(o *float32, v float32, n int)
TEXT ·fill32(SB), NOSPLIT, $0-24
	MOVQ o+0(FP), DI
	VBROADCASTSS v+8(FP), Y0
	MOVQ n+16(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
fill32x:
	CMPQ AX, BX
	JGE fill8
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y0, 32(DI)(AX*4)
	VMOVUPS Y0, 64(DI)(AX*4)
	VMOVUPS Y0, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP fill32x
fill8:
	MOVQ CX, BX
	ANDQ $-8, BX
fill8x:
	CMPQ AX, BX
	JGE fill1
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP fill8x
fill1:
	CMPQ AX, CX
	JGE filldone
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP fill1
filldone:
	VZEROUPPER
	RET

// func sumToF64x(x *float32, n int) float64
// Σ float64(x[i]) in four 4-lane float64 accumulators (16 elements per
// iteration), then 4 per iteration, then one at a time.
TEXT ·sumToF64x(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
s16:
	CMPQ AX, BX
	JGE s4
	VCVTPS2PD 0(SI)(AX*4), Y4
	VCVTPS2PD 16(SI)(AX*4), Y5
	VCVTPS2PD 32(SI)(AX*4), Y6
	VCVTPS2PD 48(SI)(AX*4), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $16, AX
	JMP s16
s4:
	MOVQ CX, BX
	ANDQ $-4, BX
s4x:
	CMPQ AX, BX
	JGE sfold
	VCVTPS2PD (SI)(AX*4), Y4
	VADDPD Y4, Y0, Y0
	ADDQ $4, AX
	JMP s4x
sfold:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
s1:
	CMPQ AX, CX
	JGE sdone
	VCVTSS2SD (SI)(AX*4), X1, X1
	VADDSD X1, X0, X0
	INCQ AX
	JMP s1
sdone:
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func accToF64x(acc *float64, x *float32, n int)
// acc[i] += float64(x[i]), 8 elements per iteration, then one at a time.
TEXT ·accToF64x(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
a8:
	CMPQ AX, BX
	JGE a1
	VCVTPS2PD 0(SI)(AX*4), Y0
	VCVTPS2PD 16(SI)(AX*4), Y1
	VADDPD 0(DI)(AX*8), Y0, Y0
	VADDPD 32(DI)(AX*8), Y1, Y1
	VMOVUPD Y0, 0(DI)(AX*8)
	VMOVUPD Y1, 32(DI)(AX*8)
	ADDQ $8, AX
	JMP a8
a1:
	CMPQ AX, CX
	JGE adone
	VCVTSS2SD (SI)(AX*4), X0, X0
	VADDSD (DI)(AX*8), X0, X0
	VMOVSD X0, (DI)(AX*8)
	INCQ AX
	JMP a1
adone:
	VZEROUPPER
	RET

// func repeat32(o, src *float32, stride, k, count int)
// o[c·k + j] = src[c·stride] for c < count, j < k: each value repeated k
// times, 8 stores at a time, then one at a time.
TEXT ·repeat32(SB), NOSPLIT, $0-40
	MOVQ o+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	MOVQ k+24(FP), CX
	MOVQ count+32(FP), R8
	MOVQ CX, BX
	ANDQ $-8, BX
rpnext:
	TESTQ R8, R8
	JZ rpdone
	VBROADCASTSS (SI), Y0
	XORQ AX, AX
rp8:
	CMPQ AX, BX
	JGE rp1
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP rp8
rp1:
	CMPQ AX, CX
	JGE rpstep
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP rp1
rpstep:
	LEAQ (DI)(CX*4), DI
	ADDQ DX, SI
	DECQ R8
	JMP rpnext
rpdone:
	VZEROUPPER
	RET

// func rowSums32(acc *float64, x *float32, n, rows int)
// acc[r] += Σ_j float64(x[r·n + j]) for r < rows: each row as in sumToF64x.
TEXT ·rowSums32(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ rows+24(FP), R8
	MOVQ CX, BX
	ANDQ $-16, BX
	MOVQ CX, R9
	ANDQ $-4, R9
rsrow:
	TESTQ R8, R8
	JZ rsdone
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX
rs16:
	CMPQ AX, BX
	JGE rs4
	VCVTPS2PD 0(SI)(AX*4), Y4
	VCVTPS2PD 16(SI)(AX*4), Y5
	VCVTPS2PD 32(SI)(AX*4), Y6
	VCVTPS2PD 48(SI)(AX*4), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $16, AX
	JMP rs16
rs4:
	CMPQ AX, R9
	JGE rsfold
	VCVTPS2PD (SI)(AX*4), Y4
	VADDPD Y4, Y0, Y0
	ADDQ $4, AX
	JMP rs4
rsfold:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
rs1:
	CMPQ AX, CX
	JGE rsstore
	VCVTSS2SD (SI)(AX*4), X1, X1
	VADDSD X1, X0, X0
	INCQ AX
	JMP rs1
rsstore:
	VADDSD (DI), X0, X0
	VMOVSD X0, (DI)
	ADDQ $8, DI
	LEAQ (SI)(CX*4), SI
	DECQ R8
	JMP rsrow
rsdone:
	VZEROUPPER
	RET
